//! Native command line for the same core the browser runs: evaluate a model under FGSM, benchmark
//! it, or attack a PNG. Built only with `--features cli`, so none of it reaches the wasm.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand};
use fgsm_wasm::model::argmax;
use fgsm_wasm::{FgsmOptions, Model, digits, fgsm, image};

#[derive(Parser)]
#[command(about = "FGSM adversarial examples with an ONNX model that carries its gradient graph")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Clean accuracy and FGSM error rate on the shipped test digits.
    Eval {
        #[arg(long, default_value = "models/mnist/model.onnx")]
        model: PathBuf,
        #[arg(long, default_value = "models/mnist/test-digits.bin")]
        digits: PathBuf,
        #[arg(long, value_delimiter = ',', default_value = "0.05,0.1,0.15,0.2,0.25,0.3")]
        eps: Vec<f32>,
    },
    /// Median times of load, predict, gradient and FGSM (one thread).
    Bench {
        #[arg(long, default_value = "models/mnist/model.onnx")]
        model: PathBuf,
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// Time per operator of the forward + gradient plan, summed over runs, slowest first.
    Profile {
        #[arg(long, default_value = "models/mnist/model.onnx")]
        model: PathBuf,
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// Write a copy of the model without its gradient graph (the benchmark's forward-only peer).
    ForwardOnly {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Attack a PNG (resized to the model's input) and write the adversarial PNG.
    Attack {
        #[arg(long, default_value = "models/mnist/model.onnx")]
        model: PathBuf,
        #[arg(long)]
        image: PathBuf,
        #[arg(long)]
        eps: f32,
        /// Targeted: the class the image should become.
        #[arg(long)]
        target: Option<usize>,
        #[arg(long)]
        out: PathBuf,
    },
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> AnyResult<()> {
    match Cli::parse().command {
        Command::Eval { model, digits, eps } => eval(&load(&model)?, &digits, &eps),
        Command::Bench { model, runs } => bench(&model, runs),
        Command::Profile { model, runs } => profile(&load(&model)?, runs),
        Command::ForwardOnly { model, out } => forward_only(&model, &out),
        Command::Attack { model, image, eps, target, out } => attack(&load(&model)?, &image, eps, target, &out),
    }
}

fn load(path: &PathBuf) -> AnyResult<Model> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Model::from_onnx_bytes(&bytes)?)
}

fn eval(model: &Model, path: &PathBuf, eps_list: &[f32]) -> AnyResult<()> {
    let digits = digits::parse(&std::fs::read(path)?)?;
    let mut correct = 0;
    for d in &digits {
        correct += usize::from(argmax(&model.predict(&d.pixels)?) == d.label as usize);
    }
    println!("digits: {}", digits.len());
    println!("clean accuracy: {:.2} %", 100.0 * correct as f64 / digits.len() as f64);
    for &eps in eps_list {
        let mut wrong = 0;
        for d in &digits {
            let adv = fgsm(model, &d.pixels, eps, FgsmOptions::default())?;
            wrong += usize::from(argmax(&adv.probs) != d.label as usize);
        }
        println!(
            "FGSM ε = {eps:.2}: error {:.2} % (label = model's prediction)",
            100.0 * wrong as f64 / digits.len() as f64
        );
    }
    Ok(())
}

fn bench(path: &PathBuf, runs: usize) -> AnyResult<()> {
    let bytes = std::fs::read(path)?;
    let loads: Vec<f64> =
        (0..5).map(|_| time(|| Model::from_onnx_bytes(&bytes).map(drop))).collect::<Result<_, _>>()?;
    let model = Model::from_onnx_bytes(&bytes)?;
    // Two images taken in turn, so that the model's memo of the last image never answers.
    let n = model.input_len();
    let images =
        [(0..n).map(|i| (i % 7) as f32 / 7.0).collect::<Vec<_>>(), (0..n).map(|i| (i % 5) as f32 / 5.0).collect()];
    let mut turn = 0usize;
    let mut next = || {
        turn += 1;
        &images[turn % 2]
    };
    let predict = median(runs, || model.predict(next()).map(drop))?;
    let gradient = median(runs, || model.input_gradient(next(), 0).map(drop))?;
    let attack = median(runs, || fgsm(&model, next(), 0.1, FgsmOptions::default()).map(drop))?;
    let mut eps = 0.0;
    let slider = median(runs, || {
        eps = (eps + 0.01) % 0.5;
        fgsm(&model, &images[0], eps, FgsmOptions::default()).map(drop)
    })?;
    println!(
        "model: {} ({} bytes), input {:?}, {} classes",
        path.display(),
        bytes.len(),
        model.input_shape(),
        model.num_classes()
    );
    println!("native tract, 1 thread, median of {runs} runs (ms):");
    println!("  load (parse + optimise both plans) {:>9.3}  (median of 5)", median_of(loads));
    println!("  predict                            {predict:>9.3}");
    println!("  input gradient                     {gradient:>9.3}");
    println!("  fgsm, new image                    {attack:>9.3}");
    println!("  fgsm, same image new ε (slider)    {slider:>9.3}");
    Ok(())
}

fn attack(model: &Model, input: &PathBuf, eps: f32, target: Option<usize>, out: &PathBuf) -> AnyResult<()> {
    let [_, c, h, w] = model.input_shape();
    let rgba =
        ::image::open(input)?.resize_exact(w as u32, h as u32, ::image::imageops::FilterType::Triangle).to_rgba8();
    let pixels = image::rgba_to_pixels(rgba.as_raw(), c)?;
    let clean = model.predict(&pixels)?;
    let adv = fgsm(model, &pixels, eps, FgsmOptions { label: target, targeted: target.is_some() })?;
    let rgba = image::pixels_to_rgba(&adv.adversarial, c)?;
    ::image::RgbaImage::from_raw(w as u32, h as u32, rgba).ok_or("image size")?.save(out)?;
    let top = |p: &[f32]| (argmax(p), p[argmax(p)]);
    println!(
        "clean: class {} (p = {:.3}); adversarial: class {} (p = {:.3}); wrote {}",
        top(&clean).0,
        top(&clean).1,
        top(&adv.probs).0,
        top(&adv.probs).1,
        out.display()
    );
    Ok(())
}

fn profile(model: &Model, runs: usize) -> AnyResult<()> {
    use std::collections::HashMap;
    use tract_onnx::prelude::*;
    let (forward, gradient) = model.plans();
    for (title, plan, with_label) in [("forward", forward, false), ("forward + gradient", gradient, true)] {
        let mut by_op: HashMap<String, (f64, usize)> = HashMap::new();
        let mut by_node: HashMap<usize, f64> = HashMap::new();
        let image: Tensor = Tensor::from_shape(&model.input_shape(), &vec![0.5f32; model.input_len()])?;
        for run in 0..runs + 1 {
            let mut inputs: TVec<TValue> = tvec!(image.clone().into());
            if with_label {
                inputs.push(Tensor::from_shape(&[1], &[1i64])?.into());
            }
            let mut state = plan.spawn()?;
            state.run_plan_with_eval(inputs, |ctx, op_state, node, input| {
                let start = Instant::now();
                let out = tract_onnx::tract_core::plan::eval(ctx, op_state, node, input);
                if run > 0 {
                    let entry = by_op.entry(node.op().name().to_string()).or_default();
                    entry.0 += start.elapsed().as_secs_f64() * 1e3;
                    entry.1 += 1;
                    *by_node.entry(node.id).or_default() += start.elapsed().as_secs_f64() * 1e3;
                }
                out
            })?;
        }
        let total: f64 = by_op.values().map(|v| v.0).sum();
        let mut rows: Vec<_> = by_op.into_iter().collect();
        rows.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
        println!("{title}: {:.2} ms a run ({} nodes)", total / runs as f64, plan.model().nodes().len());
        for (op, (ms, count)) in rows.iter().take(12) {
            println!(
                "  {op:<28} {:>8.2} ms  {:>5.1} %  ({} nodes)",
                ms / runs as f64,
                100.0 * ms / total,
                count / runs
            );
        }
        let mut nodes: Vec<_> = by_node.into_iter().collect();
        nodes.sort_by(|a, b| b.1.total_cmp(&a.1));
        println!("  slowest nodes:");
        for (id, ms) in nodes.iter().take(8) {
            let node = plan.model().node(*id);
            println!(
                "    {:>7.2} ms  {} {} → {:?}",
                ms / runs as f64,
                node.op().name(),
                node.name,
                node.outputs[0].fact.shape
            );
        }
    }
    Ok(())
}

/// Keeps only what `logits` depends on: the nodes, initialisers and inputs reachable backwards from
/// it. Other engines then run exactly the forward pass that our forward plan runs.
fn forward_only(path: &PathBuf, out: &PathBuf) -> AnyResult<()> {
    use prost::Message;
    use std::collections::HashSet;
    let mut proto = tract_onnx::pb::ModelProto::decode(&std::fs::read(path)?[..])?;
    let graph = proto.graph.as_mut().ok_or("no graph")?;
    let mut needed: HashSet<String> = HashSet::from(["logits".to_string()]);
    let mut keep = vec![false; graph.node.len()];
    // Nodes are topologically sorted in ONNX, so one backward sweep finds every producer.
    for (i, node) in graph.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o)) {
            keep[i] = true;
            needed.extend(node.input.iter().cloned());
        }
    }
    let mut kept = keep.iter();
    graph.node.retain(|_| *kept.next().unwrap_or(&false));
    graph.initializer.retain(|t| needed.contains(&t.name));
    graph.input.retain(|v| needed.contains(&v.name));
    graph.output.retain(|v| v.name == "logits");
    graph.value_info.retain(|v| needed.contains(&v.name));
    let nodes = graph.node.len();
    std::fs::write(out, proto.encode_to_vec())?;
    println!("wrote {} ({nodes} nodes)", out.display());
    Ok(())
}

fn time<E>(f: impl FnOnce() -> Result<(), E>) -> Result<f64, E> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64() * 1e3)
}

/// Median in ms of `runs` calls, after 3 warm-up calls.
fn median<E>(runs: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    for _ in 0..3 {
        f()?;
    }
    let times = (0..runs.max(1)).map(|_| time(&mut f)).collect::<Result<Vec<_>, _>>()?;
    Ok(median_of(times))
}

fn median_of(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
