use burn::optim::GradientsParams;
use burn::prelude::*;
use sepface::model::{DetectorConfig, EmbedderConfig};
use sepface::optim::AdamaxConfig;
use std::time::Instant;
fn main() {
    let device = Device::flex().autodiff();
    let batch = 32;
    let dc = DetectorConfig::web();
    let mut det = dc.init(&device);
    let mut opt = AdamaxConfig::new().init();
    let s = dc.input_size();
    for i in 0..4 {
        let t = Instant::now();
        let x = Tensor::<4>::random([batch, 3, s, s], burn::tensor::Distribution::Default, &device);
        let out = det.forward(x);
        let loss = out.boxes.square().mean();
        let g = GradientsParams::from_grads(loss.backward(), &det);
        det = opt.step(1e-3, det, g);
        println!("detector train step {i}: {:.1} img/s", batch as f64 / t.elapsed().as_secs_f64());
    }
    let ec = EmbedderConfig::web();
    let mut emb = ec.init(&device);
    let mut opt = AdamaxConfig::new().init();
    let s = ec.input_size();
    for i in 0..4 {
        let t = Instant::now();
        let x = Tensor::<4>::random([batch, 3, s, s], burn::tensor::Distribution::Default, &device);
        let out = emb.forward(x);
        let loss = out.sum();
        let g = GradientsParams::from_grads(loss.backward(), &emb);
        emb = opt.step(1e-3, emb, g);
        println!("embedder train step {i}: {:.1} img/s", batch as f64 / t.elapsed().as_secs_f64());
    }
    let inf = Device::flex();
    let det = dc.init(&inf);
    let s = dc.input_size();
    let x = Tensor::<4>::random([1, 3, s, s], burn::tensor::Distribution::Default, &inf);
    for i in 0..5 { let t = Instant::now(); let o = det.forward(x.clone()).boxes.into_data(); println!("detector 1 img inference {i}: {:.2} ms {}", t.elapsed().as_secs_f64()*1e3, o.num_elements()); }
    let emb = ec.init(&inf);
    let s = ec.input_size();
    let x = Tensor::<4>::random([1, 3, s, s], burn::tensor::Distribution::Default, &inf);
    for i in 0..5 { let t = Instant::now(); let o = emb.forward(x.clone()).into_data(); println!("embedder 1 img inference {i}: {:.2} ms {}", t.elapsed().as_secs_f64()*1e3, o.num_elements()); }
}
