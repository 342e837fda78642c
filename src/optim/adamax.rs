//! Adamax, the infinity-norm variant of Adam (Kingma & Ba, "Adam: A Method for Stochastic
//! Optimization", ICLR 2015, section 7.1). burn 0.22 ships no Adamax, so it is written here on
//! burn's public [`Optimizer`] trait and runs on every backend, WebGPU included.
//!
//! For each parameter `theta` with gradient `g` at step `t`:
//!
//! ```text
//! m = b1 * m + (1 - b1) * g
//! u = max(b2 * u, |g|)
//! theta = theta - lr / (1 - b1^t) * m / (u + eps)
//! ```

use burn::optim::{ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource};
use burn::prelude::*;

/// Configuration of [`Adamax`]. The defaults are those of Keras, the framework family the paper
/// trained with.
#[derive(Config, Debug)]
pub struct AdamaxConfig {
    /// Decay rate of the first moment.
    #[config(default = 0.9)]
    pub beta_1: f32,
    /// Decay rate of the infinity norm.
    #[config(default = 0.999)]
    pub beta_2: f32,
    /// Added to the infinity norm to avoid division by zero.
    #[config(default = 1e-7)]
    pub epsilon: f32,
}

impl AdamaxConfig {
    /// Builds the bare optimizer, for one parameter group.
    pub fn build(&self) -> Adamax {
        Adamax {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
        }
    }

    /// Builds an optimizer for a whole module; call its `step` with the learning rate, the module
    /// and the gradients.
    pub fn init(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(self.build())
    }
}

/// The Adamax optimizer.
#[derive(Debug, Clone)]
pub struct Adamax {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

/// Adamax state of one parameter.
#[derive(Debug, Clone)]
pub struct AdamaxState<const D: usize> {
    /// Number of steps taken.
    pub time: usize,
    /// Exponential moving average of the gradient (`m`).
    pub moment: Tensor<D>,
    /// Exponentially weighted infinity norm of the gradient (`u`).
    pub infinity_norm: Tensor<D>,
}

impl<const D: usize> RecordState for AdamaxState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, "time", (self.time as u64).into());
        out.push_tensor(prefix, "moment", self.moment.to_data());
        out.push_tensor(prefix, "infinity_norm", self.infinity_norm.to_data());
    }

    fn state_unflatten(prefix: &str, source: &mut StateSource, device: &Device) -> Option<Self> {
        let time = u64::try_from(source.take_scalar(prefix, "time")?).ok()? as usize;
        let moment = Tensor::from_data(source.take_tensor(prefix, "moment")?, device);
        let infinity_norm = Tensor::from_data(source.take_tensor(prefix, "infinity_norm")?, device);
        Some(Self {
            time,
            moment,
            infinity_norm,
        })
    }
}

impl Optimizer for Adamax {
    type State<const D: usize> = AdamaxState<D>;

    fn step<const D: usize>(
        &self,
        lr: burn::optim::LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (time, moment, infinity_norm) = match state {
            Some(state) => (state.time, state.moment, state.infinity_norm),
            None => (0, grad.zeros_like(), grad.zeros_like()),
        };
        let time = time + 1;
        let moment = moment.mul_scalar(self.beta_1) + grad.clone().mul_scalar(1.0 - self.beta_1);
        let infinity_norm = infinity_norm.mul_scalar(self.beta_2).max_pair(grad.abs());
        let step_size = lr / (1.0 - (self.beta_1 as f64).powi(time as i32));
        let update = moment.clone() / infinity_norm.clone().add_scalar(self.epsilon);
        let tensor = tensor - update.mul_scalar(step_size);
        let state = AdamaxState {
            time,
            moment,
            infinity_norm,
        };
        (tensor, Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamaxState {
            time: state.time,
            moment: state.moment.to_device(device),
            infinity_norm: state.infinity_norm.to_device(device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::optim::GradientsParams;

    /// A module with one parameter vector, so its loss and gradients are easy to do by hand.
    #[derive(Module, Debug)]
    struct Weights {
        value: Param<Tensor<1>>,
    }

    /// Runs Adamax on `loss = sum(w * x)` with the given inputs, whose gradient is `x`.
    fn run_steps(initial: [f32; 2], inputs: &[[f32; 2]], lr: f64) -> Vec<f32> {
        let device = Device::flex().autodiff();
        let mut weights = Weights {
            value: Param::from_tensor(Tensor::from_floats(initial, &device)),
        };
        let mut optimizer = AdamaxConfig::new().init();
        for input in inputs {
            let x = Tensor::<1>::from_floats(*input, &device);
            let loss = (weights.value.val() * x).sum();
            let gradients = GradientsParams::from_grads(loss.backward(), &weights);
            weights = optimizer.step(lr, weights, gradients);
        }
        weights.value.val().into_data().try_to_vec::<f32>().expect("f32")
    }

    #[test]
    fn three_steps_match_hand_computation() {
        // Gradients g1 = (1, -2), g2 = (0.5, 4), g3 = (-1, 0); lr 0.1, b1 0.9, b2 0.999.
        // Step 1: m = (0.1, -0.2); u = (1, 2); lr_t = 0.1 / 0.1 = 1;
        //         w = (1, 1) - (0.1 / 1, -0.2 / 2) = (0.9, 1.1).
        // Step 2: m = (0.09 + 0.05, -0.18 + 0.4) = (0.14, 0.22); u = (max(0.999, 0.5),
        //         max(1.998, 4)) = (0.999, 4); lr_t = 0.1 / 0.19;
        //         w = (0.9 - 0.526316 * 0.14 / 0.999, 1.1 - 0.526316 * 0.22 / 4)
        //           = (0.826242, 1.071053).
        // Step 3: m = (0.126 - 0.1, 0.198) = (0.026, 0.198); u = (max(0.998001, 1),
        //         max(3.996, 0)) = (1, 3.996); lr_t = 0.1 / 0.271 = 0.369004;
        //         w = (0.826242 - 0.369004 * 0.026, 1.071053 - 0.369004 * 0.198 / 3.996)
        //           = (0.816648, 1.052769).
        let expected = [0.816648f32, 1.052769];
        let actual = run_steps([1.0, 1.0], &[[1.0, -2.0], [0.5, 4.0], [-1.0, 0.0]], 0.1);
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-5, "got {actual:?}, expected {expected:?}");
        }
    }

    #[test]
    fn first_step_moves_by_learning_rate() {
        // At t = 1, m / (1 - b1) = g and u = |g|, so every weight moves by lr * sign(g).
        let actual = run_steps([0.0, 0.0], &[[3.0, -0.25]], 0.01);
        assert!((actual[0] + 0.01).abs() < 1e-6, "{actual:?}");
        assert!((actual[1] - 0.01).abs() < 1e-6, "{actual:?}");
    }
}
