//! Face bounding boxes with edges normalised by the image width and height.

use serde::{Deserialize, Serialize};

/// An axis-aligned box whose edges are fractions of the image size: `left` and `right` are
/// divided by the image width, `top` and `bottom` by its height.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    /// Left edge, in [0, 1].
    pub left: f32,
    /// Top edge, in [0, 1].
    pub top: f32,
    /// Right edge, in [0, 1].
    pub right: f32,
    /// Bottom edge, in [0, 1].
    pub bottom: f32,
}

impl FaceBox {
    /// Builds a box from normalised edges.
    pub fn new(left: f32, top: f32, right: f32, bottom: f32) -> Self {
        Self {
            left,
            top,
            right,
            bottom,
        }
    }

    /// Builds a box from pixel edges of an image of `width x height` pixels.
    pub fn from_pixels(left: f32, top: f32, right: f32, bottom: f32, width: u32, height: u32) -> Self {
        let (width, height) = (width.max(1) as f32, height.max(1) as f32);
        Self::new(left / width, top / height, right / width, bottom / height)
    }

    /// Builds a box from the detector's `[left, top, right, bottom]` output.
    pub fn from_edges(edges: [f32; 4]) -> Self {
        Self::new(edges[0], edges[1], edges[2], edges[3])
    }

    /// Returns the edges as `[left, top, right, bottom]`, the detector's output order.
    pub fn edges(&self) -> [f32; 4] {
        [self.left, self.top, self.right, self.bottom]
    }

    /// Width as a fraction of the image width (0 for an inverted box).
    pub fn width(&self) -> f32 {
        (self.right - self.left).max(0.0)
    }

    /// Height as a fraction of the image height (0 for an inverted box).
    pub fn height(&self) -> f32 {
        (self.bottom - self.top).max(0.0)
    }

    /// Returns the centre `(x, y)`, as fractions of the image width and height.
    pub fn centre(&self) -> (f32, f32) {
        ((self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0)
    }

    /// Area as a fraction of the image area.
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    /// Whether all edges are finite and the box encloses some area.
    pub fn is_valid(&self) -> bool {
        self.edges().iter().all(|edge| edge.is_finite()) && self.area() > 0.0
    }

    /// Intersection over union with `other`; 0 when either box is empty.
    pub fn iou(&self, other: &FaceBox) -> f32 {
        let intersection = FaceBox::new(
            self.left.max(other.left),
            self.top.max(other.top),
            self.right.min(other.right),
            self.bottom.min(other.bottom),
        )
        .area();
        let union = self.area() + other.area() - intersection;
        if union <= 0.0 { 0.0 } else { intersection / union }
    }

    /// Grows each side by `margin` times the box's width or height, then clamps to [0, 1].
    pub fn expand(&self, margin: f32) -> FaceBox {
        let (dx, dy) = (self.width() * margin, self.height() * margin);
        FaceBox::new(
            (self.left - dx).clamp(0.0, 1.0),
            (self.top - dy).clamp(0.0, 1.0),
            (self.right + dx).clamp(0.0, 1.0),
            (self.bottom + dy).clamp(0.0, 1.0),
        )
    }

    /// Returns the pixel rectangle `(x, y, width, height)` in an image of `width x height`
    /// pixels, rounded outwards and clamped to the image.
    pub fn to_pixel_rect(&self, width: u32, height: u32) -> (u32, u32, u32, u32) {
        let to_x = |value: f32| (value.clamp(0.0, 1.0) * width as f32) as f64;
        let to_y = |value: f32| (value.clamp(0.0, 1.0) * height as f32) as f64;
        let x0 = to_x(self.left).floor() as u32;
        let y0 = to_y(self.top).floor() as u32;
        let x1 = (to_x(self.right).ceil() as u32).min(width);
        let y1 = (to_y(self.bottom).ceil() as u32).min(height);
        (x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_hand_computed_boxes() {
        let a = FaceBox::new(0.0, 0.0, 0.5, 0.5);
        let b = FaceBox::new(0.25, 0.25, 0.75, 0.75);
        // Intersection 0.25^2 = 0.0625; union 0.25 + 0.25 - 0.0625 = 0.4375.
        assert!((a.iou(&b) - 0.0625 / 0.4375).abs() < 1e-6);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&FaceBox::new(0.6, 0.6, 0.9, 0.9)), 0.0);
        assert_eq!(a.iou(&FaceBox::new(0.3, 0.3, 0.3, 0.3)), 0.0);
    }

    #[test]
    fn expand_clamps_to_image() {
        let face = FaceBox::new(0.0, 0.2, 0.4, 0.6).expand(0.25);
        let expected = [0.0, 0.1, 0.5, 0.7];
        for (edge, want) in face.edges().iter().zip(expected) {
            assert!((edge - want).abs() < 1e-6, "{face:?}");
        }
    }

    #[test]
    fn pixel_rect_is_clamped() {
        let rect = FaceBox::new(-0.1, 0.5, 1.2, 1.0).to_pixel_rect(200, 100);
        assert_eq!(rect, (0, 50, 200, 50));
    }

    #[test]
    fn invalid_boxes_are_detected() {
        assert!(!FaceBox::new(0.5, 0.5, 0.4, 0.9).is_valid());
        assert!(!FaceBox::new(f32::NAN, 0.0, 1.0, 1.0).is_valid());
        assert!(FaceBox::new(0.1, 0.1, 0.2, 0.2).is_valid());
    }
}
