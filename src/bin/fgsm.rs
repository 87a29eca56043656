//! Native command line for the same core the browser runs: attack a PNG with any method, print the
//! error table of the methods over the shipped digits, describe a model file, benchmark or profile
//! it. Built only with `--features cli`, so none of it reaches the wasm.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use fgsm_wasm::model::argmax;
use fgsm_wasm::{FgsmOptions, Label, Method, Model, Norm, Options, digits, fgsm, image};
use serde_json::json;

#[derive(Parser)]
#[command(about = "FGSM adversarial examples with an ONNX model that carries its gradient graph")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The choices of an attack other than its method, ε and label; unset ones take the method's
/// defaults (`fgsm_wasm::Options::resolve`).
#[derive(Args)]
struct AttackArgs {
    /// Gradient steps of the iterative methods.
    #[arg(long)]
    steps: Option<usize>,
    /// Step size of the iterative methods.
    #[arg(long)]
    alpha: Option<f32>,
    /// linf or l2.
    #[arg(long)]
    norm: Option<Norm>,
    /// MI-FGSM's momentum μ.
    #[arg(long)]
    momentum: Option<f32>,
    /// Seed of PGD's random start and of the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl AttackArgs {
    fn options(&self, method: Method, eps: f32, label: Label) -> Options {
        let AttackArgs { steps, alpha, norm, momentum, seed } = *self;
        Options { method, eps, alpha, steps, norm, momentum, seed, label }
    }

    /// The options for digit `n` (counting from 1) of an `eval` or `transfer` run: its seed is
    /// `--seed` + n, as the page seeds each digit's noise with its number, so PGD's start and the
    /// noise differ from digit to digit and the figures equal the page's.
    fn for_digit(&self, method: Method, eps: f32, n: usize, label: Label) -> Options {
        Options { seed: self.seed.wrapping_add(n as u64), ..self.options(method, eps, label) }
    }
}

/// Which held-out digits an `eval` or `transfer` run attacks, and against which label.
#[derive(Args)]
struct DigitArgs {
    #[arg(long, default_value = "models/mnist/test-digits.bin")]
    digits: PathBuf,
    /// Only the first N digits of the file.
    #[arg(long)]
    limit: Option<usize>,
    /// The label each attack raises the loss of: `predicted` (the model's own class, as the page
    /// does) or `true` (the digit's true label, as in the FGSM paper's experiments).
    #[arg(long, default_value = "predicted")]
    label: LabelChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LabelChoice {
    Predicted,
    True,
}

impl LabelChoice {
    fn label(self, digit: &digits::Digit) -> Label {
        match self {
            LabelChoice::Predicted => Label::Predicted,
            LabelChoice::True => Label::Untargeted(digit.label as usize),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            LabelChoice::Predicted => "the model's prediction",
            LabelChoice::True => "the true label",
        }
    }
}

impl DigitArgs {
    fn load(&self) -> AnyResult<Vec<digits::Digit>> {
        let bytes = std::fs::read(&self.digits).map_err(|e| format!("{}: {e}", self.digits.display()))?;
        let mut digits = digits::parse(&bytes)?;
        match self.limit {
            Some(0) => return Err("--limit must be at least 1".into()),
            Some(n) => digits.truncate(n),
            None => {}
        }
        Ok(digits)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Clean accuracy and the error rate of each method at each ε on the shipped held-out digits
    /// (error = adversarial class ≠ true label), for one model or several (a table each).
    Eval {
        /// One or more ONNX files, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "models/mnist/model.onnx")]
        model: Vec<PathBuf>,
        #[command(flatten)]
        digits: DigitArgs,
        /// One or more of fgsm, fgm, bim, pgd, mi-fgsm, noise.
        #[arg(long, value_delimiter = ',', default_value = "fgsm")]
        method: Vec<Method>,
        #[arg(long, value_delimiter = ',', default_value = "0.05,0.1,0.15,0.2,0.25,0.3")]
        eps: Vec<f32>,
        #[command(flatten)]
        attack: AttackArgs,
        /// Print JSON instead of a table (an array when there are several models).
        #[arg(long)]
        json: bool,
    },
    /// Transfer: adversarial examples crafted on each model (rows), classified by every model
    /// (columns); error = that model's class ≠ true label. The diagonal is `eval`'s figure.
    Transfer {
        /// Two or more ONNX files with the same input shape, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        models: Vec<PathBuf>,
        #[command(flatten)]
        digits: DigitArgs,
        #[arg(long, default_value = "fgsm")]
        method: Method,
        #[arg(long, value_delimiter = ',', default_value = "0.25")]
        eps: Vec<f32>,
        #[command(flatten)]
        attack: AttackArgs,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Inputs, outputs, whether the gradient graph is there, and the class count of an ONNX file.
    Info { model: PathBuf },
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
    /// Write the decluttered model (after quantized-weight folding, type analysis and declutter:
    /// what both plans start from) as an uncompressed tract NNEF tar, which loads faster.
    Nnef {
        #[arg(long, default_value = "models/mnist/model.onnx")]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Load times of a model from its ONNX file and from its NNEF tar, in turns (A, B, A, B, ...),
    /// per stage; and whether both give the same logits and input gradient.
    LoadAb {
        #[arg(long, default_value = "models/mnist/model.onnx")]
        model: PathBuf,
        /// The NNEF tar (`fgsm nnef` writes it); made in memory when not given.
        #[arg(long)]
        nnef: Option<PathBuf>,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Write a copy of the model without its gradient graph (the benchmark's forward-only peer).
    ForwardOnly {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Add the gradient graph to a forward-only ONNX classifier (writes the product's model format).
    GradGraph {
        input: PathBuf,
        output: PathBuf,
        /// The image input, if the model has several inputs.
        #[arg(long = "input")]
        image: Option<String>,
        /// The logits tensor, if the model has several outputs.
        #[arg(long)]
        logits: Option<String>,
        /// Per-channel mean the model expects on [0,1] pixels, e.g. 0.485,0.456,0.406.
        #[arg(long, value_delimiter = ',')]
        mean: Option<Vec<f32>>,
        /// Per-channel std the model expects on [0,1] pixels, e.g. 0.229,0.224,0.225.
        #[arg(long, value_delimiter = ',')]
        std: Option<Vec<f32>>,
    },
    /// Attack a PNG (resized to the model's input) and write the adversarial PNG.
    Attack {
        #[arg(long, default_value = "models/mnist/model.onnx")]
        model: PathBuf,
        #[arg(long, default_value = "fgsm")]
        method: Method,
        #[arg(long)]
        image: PathBuf,
        #[arg(long)]
        eps: f32,
        #[command(flatten)]
        attack: AttackArgs,
        /// Targeted: the class the image should become.
        #[arg(long, conflicts_with = "label")]
        target: Option<usize>,
        /// Untargeted, against this class instead of the model's prediction.
        #[arg(long)]
        label: Option<usize>,
        #[arg(long)]
        out: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> AnyResult<()> {
    match Cli::parse().command {
        Command::Eval { model, digits, method, eps, attack, json } => {
            let digit_list = digits.load()?;
            let mut reports = Vec::new();
            for path in &model {
                let report = eval(&load(path)?, path, &digit_list, &digits, &method, &eps, &attack)?;
                if !json {
                    print_eval(&report, &digits, &method, &eps);
                }
                reports.push(report.json);
            }
            if json {
                let out = if reports.len() == 1 { reports.remove(0) } else { serde_json::Value::Array(reports) };
                println!("{}", serde_json::to_string_pretty(&out)?);
            }
            Ok(())
        }
        Command::Transfer { models, digits, method, eps, attack, json } => {
            transfer(&models, &digits, method, &eps, &attack, json)
        }
        Command::Info { model } => info(&model),
        Command::Bench { model, runs } => bench(&model, runs),
        Command::Profile { model, runs } => profile(&load(&model)?, runs),
        Command::ForwardOnly { model, out } => forward_only(&model, &out),
        Command::Nnef { model, out } => write_nnef(&model, &out),
        Command::LoadAb { model, nnef, runs } => load_ab(&model, nnef.as_ref(), runs),
        Command::GradGraph { input, output, image, logits, mean, std } => {
            grad_graph(&input, &output, &fgsm_wasm::grad::Options { input: image, logits, mean, std })
        }
        Command::Attack { model, method, image, eps, attack: args, target, label, out, json } => {
            let label = match (target, label) {
                (Some(target), _) => Label::Targeted(target),
                (None, Some(label)) => Label::Untargeted(label),
                (None, None) => Label::Predicted,
            };
            attack(&load(&model)?, &image, &args.options(method, eps, label), &out, json)
        }
    }
}

fn load(path: &PathBuf) -> AnyResult<Model> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Model::from_onnx_bytes(&bytes)?)
}

/// The name a model goes by in tables: its folder for a `model.onnx`, else its file name.
fn model_name(path: &std::path::Path) -> String {
    let folder = path.parent().and_then(|p| p.file_name());
    match (path.file_name().and_then(|f| f.to_str()), folder) {
        (Some("model.onnx"), Some(folder)) => folder.to_string_lossy().into_owned(),
        _ => path.file_stem().unwrap_or(path.as_os_str()).to_string_lossy().into_owned(),
    }
}

/// One model's `eval`: clean accuracy and `error[method][ε]`, with its JSON form.
struct EvalReport {
    name: String,
    accuracy: f64,
    error: Vec<Vec<f64>>,
    params: Vec<fgsm_wasm::attack::Params>,
    json: serde_json::Value,
}

fn eval(
    model: &Model,
    model_path: &std::path::Path,
    digits: &[digits::Digit],
    which: &DigitArgs,
    methods: &[Method],
    eps_list: &[f32],
    args: &AttackArgs,
) -> AnyResult<EvalReport> {
    let n = digits.len() as f64;
    let mut sessions = Vec::with_capacity(digits.len());
    let mut correct = 0;
    for d in digits {
        let session = model.session(&d.pixels).map_err(|e| format!("{}: {e}", model_path.display()))?;
        correct += usize::from(session.prediction() == d.label as usize);
        sessions.push(session);
    }
    let accuracy = correct as f64 / n;
    // error[m][e]: share of digits whose adversarial class is not the true label.
    let mut error = vec![vec![0.0; eps_list.len()]; methods.len()];
    let mut params = Vec::new();
    for (m, &method) in methods.iter().enumerate() {
        for (e, &eps) in eps_list.iter().enumerate() {
            if e + 1 == eps_list.len() {
                params.push(args.options(method, eps, Label::Predicted).resolve(model.input_len())?);
            }
            let mut wrong = 0;
            for (i, (session, d)) in sessions.iter_mut().zip(digits).enumerate() {
                let options = args.for_digit(method, eps, i + 1, which.label.label(d));
                wrong += usize::from(argmax(&session.attack(&options)?.probs) != d.label as usize);
            }
            error[m][e] = wrong as f64 / n;
        }
    }
    let by_method: serde_json::Map<String, serde_json::Value> =
        methods.iter().zip(&error).map(|(m, errors)| (m.name().to_string(), json!(errors))).collect();
    let params_json: Vec<_> = params
        .iter()
        .map(|p| {
            json!({ "method": p.method.name(), "norm": p.norm.to_string(), "steps": p.steps,
                    "alpha_at_last_eps": num(p.alpha), "momentum": num(p.momentum), "seed": p.seed })
        })
        .collect();
    let json = json!({
        "model": model_path, "name": model_name(model_path), "digits": digits.len(),
        "digits_file": which.digits, "clean_accuracy": accuracy,
        "label": which.label.describe(),
        "seeds": "digit n (counting from 1) is attacked with seed + n",
        "eps": eps_list.iter().copied().map(num).collect::<Vec<_>>(),
        "error": by_method, "params": params_json,
    });
    Ok(EvalReport { name: model_name(model_path), accuracy, error, params, json })
}

fn print_eval(report: &EvalReport, which: &DigitArgs, methods: &[Method], eps_list: &[f32]) {
    println!("model: {}", report.name);
    println!(
        "digits: {} held out ({}); clean accuracy {:.2} %",
        report.json["digits"],
        which.digits.display(),
        100.0 * report.accuracy
    );
    println!("error (%): adversarial class ≠ true label; the attack's label is {}", which.label.describe());
    print!("{:>6}", "ε");
    for m in methods {
        print!(" {:>8}", m.name());
    }
    println!();
    for (e, eps) in eps_list.iter().enumerate() {
        print!("{eps:>6.3}");
        for errors in &report.error {
            print!(" {:>8.1}", 100.0 * errors[e]);
        }
        println!();
    }
    for p in &report.params {
        let how = match p.method {
            Method::Fgsm | Method::Fgm => format!("one step of ε, norm {}", p.norm),
            Method::Noise => format!("random, norm {}, seed {} + digit number", p.norm, p.seed),
            Method::Bim => format!("{} steps, norm {}, α = {}", p.steps, p.norm, p.alpha),
            Method::Pgd => format!(
                "{} steps, norm {}, α = {} at ε = {}, seed {} + digit number",
                p.steps, p.norm, p.alpha, p.eps, p.seed
            ),
            Method::MiFgsm => {
                format!("{} steps, norm {}, α = {} at ε = {}, μ = {}", p.steps, p.norm, p.alpha, p.eps, p.momentum)
            }
        };
        println!("{}: {how}", p.method);
    }
    println!();
}

/// Crafts `method` at each ε on every model in turn and classifies each adversarial digit with
/// every model: `error[ε][from][to]`.
fn transfer(
    paths: &[PathBuf],
    which: &DigitArgs,
    method: Method,
    eps_list: &[f32],
    args: &AttackArgs,
    json: bool,
) -> AnyResult<()> {
    if paths.len() < 2 {
        return Err("transfer needs at least two models (--models a.onnx,b.onnx)".into());
    }
    let models = paths.iter().map(load).collect::<AnyResult<Vec<_>>>()?;
    let shape = models[0].input_shape();
    if let Some((path, model)) = paths.iter().zip(&models).find(|(_, m)| m.input_shape() != shape) {
        return Err(format!(
            "{} takes input {:?}, {} takes {:?}: transfer needs one input shape",
            path.display(),
            model.input_shape(),
            paths[0].display(),
            shape
        )
        .into());
    }
    let digits = which.load()?;
    let n = digits.len() as f64;
    let names: Vec<String> = paths.iter().map(|p| model_name(p)).collect();
    let mut clean = vec![0usize; models.len()];
    let mut wrong = vec![vec![vec![0usize; models.len()]; models.len()]; eps_list.len()];
    for (i, d) in digits.iter().enumerate() {
        for (to, model) in models.iter().enumerate() {
            clean[to] += usize::from(argmax(&model.predict(&d.pixels)?) != d.label as usize);
        }
        for (from, source) in models.iter().enumerate() {
            let mut session = source.session(&d.pixels)?;
            for (e, &eps) in eps_list.iter().enumerate() {
                let adv = session.attack(&args.for_digit(method, eps, i + 1, which.label.label(d)))?;
                for (to, target) in models.iter().enumerate() {
                    // The source's own verdict is in the attack's result (one forward pass fewer).
                    let class =
                        if to == from { argmax(&adv.probs) } else { argmax(&target.predict(&adv.adversarial)?) };
                    wrong[e][from][to] += usize::from(class != d.label as usize);
                }
            }
        }
    }
    let rate = |w: usize| w as f64 / n;
    if json {
        let error: Vec<Vec<Vec<f64>>> =
            wrong.iter().map(|m| m.iter().map(|row| row.iter().map(|&w| rate(w)).collect()).collect()).collect();
        let report = json!({
            "models": paths, "names": names, "digits": digits.len(), "digits_file": which.digits,
            "method": method.name(), "label": which.label.describe(),
            "seeds": "digit n (counting from 1) is attacked with seed + n",
            "eps": eps_list.iter().copied().map(num).collect::<Vec<_>>(),
            "clean_error": clean.iter().map(|&w| rate(w)).collect::<Vec<_>>(),
            "error": error,
            "error_layout": "error[ε][crafted on][classified by]",
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let width = names.iter().map(|s| s.chars().count()).max().unwrap_or(0).max(12);
    println!(
        "{} digits held out ({}); {method} crafted on the row's model (label: {}), error (%) of the column's model",
        digits.len(),
        which.digits.display(),
        which.label.describe()
    );
    for (e, eps) in eps_list.iter().enumerate() {
        println!("ε = {eps}");
        print!("{:<width$}", "crafted on ↓");
        for name in &names {
            print!("  {name:>width$}");
        }
        println!();
        for (from, name) in names.iter().enumerate() {
            print!("{name:<width$}");
            for w in &wrong[e][from] {
                print!("  {:>width$.1}", 100.0 * rate(*w));
            }
            println!();
        }
        print!("{:<width$}", "(clean)");
        for &w in &clean {
            print!("  {:>width$.1}", 100.0 * rate(w));
        }
        println!();
    }
    Ok(())
}

/// What an ONNX file declares, whether it has the gradient graph this demo needs, and whether it
/// loads (with its class count) or why not.
fn info(path: &PathBuf) -> AnyResult<()> {
    use tract_onnx::pb;
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
    use tract_onnx::prelude::Framework;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let proto = tract_onnx::onnx().proto_model_for_read(&mut &bytes[..]).map_err(|e| format!("not ONNX: {e:#}"))?;
    let graph = proto.graph.as_ref().ok_or("the file holds no graph")?;
    let describe = |v: &pb::ValueInfoProto| -> String {
        let Some(pb::type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
            return format!("{} (not a tensor)", v.name);
        };
        let dims: Vec<String> = t
            .shape
            .as_ref()
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(Dim::DimValue(v)) => v.to_string(),
                        Some(Dim::DimParam(p)) => p.clone(),
                        None => "?".into(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let kind = pb::tensor_proto::DataType::try_from(t.elem_type)
            .map(|d| d.as_str_name().to_lowercase())
            .unwrap_or_else(|_| format!("type {}", t.elem_type));
        format!("{} {kind} [{}]", v.name, dims.join(", "))
    };
    let initialisers: std::collections::HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<_> = graph.input.iter().filter(|i| !initialisers.contains(i.name.as_str())).collect();
    println!(
        "{}: {} bytes, opset {:?}, {} nodes",
        path.display(),
        bytes.len(),
        proto.opset_import.iter().map(|o| o.version).max().unwrap_or_default(),
        graph.node.len()
    );
    println!("inputs:");
    for i in &inputs {
        println!("  {}", describe(i));
    }
    println!("outputs:");
    for o in &graph.output {
        println!("  {}", describe(o));
    }
    let gradient = fgsm_wasm::grad::has_gradient_graph(&proto);
    println!("gradient graph: {}", if gradient { "yes (input `label`, outputs `loss`, `input_grad`)" } else { "no" });
    if !gradient {
        match fgsm_wasm::grad::blockers(&proto, &Default::default()) {
            Ok(blockers) if blockers.is_empty() => println!("builder: `fgsm grad-graph` can add it"),
            Ok(blockers) => {
                println!("builder: blocked by");
                for b in blockers {
                    println!("  {} (node `{}`): {}", b.op, b.node, b.reason);
                }
            }
            Err(e) => println!("builder: {e}"),
        }
    }
    match Model::from_onnx_bytes(&bytes) {
        Ok(model) => println!("loads: yes; input {:?}, {} classes", model.input_shape(), model.num_classes()),
        Err(e) => println!("loads: no — {e}"),
    }
    Ok(())
}

fn bench(path: &PathBuf, runs: usize) -> AnyResult<()> {
    let bytes = std::fs::read(path)?;
    let loads: Vec<f64> =
        (0..5).map(|_| time(|| Model::from_onnx_bytes(&bytes).map(drop))).collect::<Result<_, _>>()?;
    let mut stages = Vec::new();
    let mut last = Instant::now();
    let model = Model::from_onnx_bytes_staged(&bytes, &mut |stage| {
        stages.push(format!("{} {:.1}", stage.name(), last.elapsed().as_secs_f64() * 1e3));
        last = Instant::now();
    })?;
    // Two images taken in turn (the model keeps no image; this only varies the input).
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
    let mut session = model.session(&images[0])?;
    let slider = median(runs, || {
        eps = (eps + 0.01) % 0.5;
        session.attack(&Options::new(Method::Fgsm, eps)).map(drop)
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
    println!("    stages of one load: {}", stages.join(" → "));
    println!("  predict                            {predict:>9.3}");
    println!("  input gradient                     {gradient:>9.3}");
    println!("  fgsm, new image                    {attack:>9.3}");
    println!("  fgsm, same session new ε (slider)  {slider:>9.3}");
    Ok(())
}

fn write_nnef(model: &PathBuf, out: &PathBuf) -> AnyResult<()> {
    let onnx = std::fs::read(model).map_err(|e| format!("{}: {e}", model.display()))?;
    let start = Instant::now();
    let tar = fgsm_wasm::nnef::onnx_to_nnef(&onnx)?;
    std::fs::write(out, &tar).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!(
        "{} ({} bytes) → {} ({} bytes) in {:.0} ms",
        model.display(),
        onnx.len(),
        out.display(),
        tar.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

fn load_ab(model: &PathBuf, nnef: Option<&PathBuf>, runs: usize) -> AnyResult<()> {
    let onnx = std::fs::read(model).map_err(|e| format!("{}: {e}", model.display()))?;
    let tar = match nnef {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => fgsm_wasm::nnef::onnx_to_nnef(&onnx)?,
    };
    type Load = fn(&[u8], &mut dyn FnMut(fgsm_wasm::model::LoadStage)) -> fgsm_wasm::Result<Model>;
    let ways: [(&str, &[u8], Load); 2] =
        [("onnx", &onnx, Model::from_onnx_bytes_staged), ("nnef", &tar, Model::from_nnef_bytes_staged)];
    // totals[way][run], stages[way] = [(name, [ms per run])]
    let mut totals = vec![Vec::new(); 2];
    let mut stages: Vec<Vec<(&str, Vec<f64>)>> = vec![Vec::new(); 2];
    let mut models = Vec::new();
    for run in 0..runs.max(1) + 1 {
        for (w, (_, bytes, load)) in ways.iter().enumerate() {
            let start = Instant::now();
            let mut last = start;
            let mut these = Vec::new();
            let loaded = load(bytes, &mut |stage| {
                these.push((stage.name(), last.elapsed().as_secs_f64() * 1e3));
                last = Instant::now();
            })?;
            let total = start.elapsed().as_secs_f64() * 1e3;
            if run == 0 {
                models.push(loaded); // the first turn warms up, and keeps the models to compare
                continue;
            }
            totals[w].push(total);
            for (i, (name, ms)) in these.into_iter().enumerate() {
                if stages[w].len() <= i {
                    stages[w].push((name, Vec::new()));
                }
                stages[w][i].1.push(ms);
            }
        }
    }
    println!(
        "{}: onnx {} bytes, nnef {} bytes; {} loads each, in turns (median ms)",
        model.display(),
        onnx.len(),
        tar.len(),
        runs.max(1)
    );
    for (w, (way, _, _)) in ways.iter().enumerate() {
        let parts: Vec<String> =
            stages[w].iter().map(|(name, ms)| format!("{name} {:.1}", median_of(ms.clone()))).collect();
        let all: Vec<String> = totals[w].iter().map(|t| format!("{t:.0}")).collect();
        println!("  {way}: total {:>8.1}  ({})  [{}]", median_of(totals[w].clone()), parts.join(", "), all.join(" "));
    }
    // The NNEF file read as it downloads, in 64 kB pieces (as a browser hands them over): the
    // reading done while it arrives, and the work left after its last byte.
    let (mut arriving, mut after) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let mut stream = fgsm_wasm::nnef::NnefStream::new();
        for piece in tar.chunks(1 << 16) {
            stream.push(piece)?;
        }
        arriving.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        Model::from_nnef_stream(stream)?;
        after.push(start.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "  nnef read as it arrives (64 kB pieces): {:.1} while it arrives, {:.1} after its last byte",
        median_of(arriving),
        median_of(after)
    );
    // Same answers: logits and input gradient of a fixed image, both ways.
    let n = models[0].input_len();
    let image: Vec<f32> = (0..n).map(|i| (i % 11) as f32 / 11.0).collect();
    let (a, b) = (&models[0], &models[1]);
    let max_diff = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
    let (la, lb) = (a.logits(&image)?, b.logits(&image)?);
    let label = argmax(&la);
    let (ga, gb) = (a.input_gradient(&image, label)?, b.input_gradient(&image, label)?);
    println!(
        "  same answers: logits max |Δ| {:e}, loss |Δ| {:e}, input gradient max |Δ| {:e} (bit-identical: {})",
        max_diff(&la, &lb),
        (ga.loss - gb.loss).abs(),
        max_diff(&ga.grad, &gb.grad),
        la == lb && ga.grad == gb.grad && ga.loss == gb.loss
    );
    Ok(())
}

fn attack(model: &Model, input: &PathBuf, options: &Options, out: &PathBuf, json: bool) -> AnyResult<()> {
    let [_, c, h, w] = model.input_shape();
    let rgba =
        ::image::open(input)?.resize_exact(w as u32, h as u32, ::image::imageops::FilterType::Triangle).to_rgba8();
    let pixels = image::rgba_to_pixels(rgba.as_raw(), c)?;
    let mut session = model.session(&pixels)?;
    let params = options.resolve(pixels.len())?;
    let adv = session.attack_with_progress(options, |p| {
        if !json && params.steps > 1 {
            eprintln!("step {:>4}/{}: loss {:.4}, class {}", p.step, p.steps, p.loss, p.predicted);
        }
        ControlFlow::Continue(())
    })?;
    let rgba = image::pixels_to_rgba(&adv.adversarial, c)?;
    ::image::RgbaImage::from_raw(w as u32, h as u32, rgba).ok_or("image size")?.save(out)?;
    let top = |p: &[f32]| (argmax(p), p[argmax(p)]);
    let (clean, adversarial) = (top(session.predict()), top(&adv.probs));
    let (linf, l2) = (Norm::Linf.distance(&adv.adversarial, &pixels), Norm::L2.distance(&adv.adversarial, &pixels));
    if json {
        let report = json!({
            "method": params.method.name(), "eps": num(params.eps), "alpha": num(params.alpha), "steps": params.steps,
            "norm": params.norm.to_string(), "momentum": num(params.momentum), "seed": params.seed,
            "label": adv.label, "targeted": adv.targeted,
            "clean": { "class": clean.0, "probability": num(clean.1) },
            "adversarial": { "class": adversarial.0, "probability": num(adversarial.1) },
            "losses": adv.losses.iter().copied().map(num).collect::<Vec<_>>(), "linf": num(linf), "l2": num(l2),
            "out": out,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} ε = {} ({}, {} steps): clean class {} (p = {:.3}) → adversarial class {} (p = {:.3}); \
             loss of {} {:.4} → {:.4}; ‖δ‖∞ = {linf:.4}, ‖δ‖₂ = {l2:.4}; wrote {}",
            params.method,
            params.eps,
            params.norm,
            params.steps,
            clean.0,
            clean.1,
            adversarial.0,
            adversarial.1,
            if adv.targeted { format!("target {}", adv.label) } else { format!("class {}", adv.label) },
            adv.losses[0],
            adv.losses[adv.losses.len() - 1],
            out.display()
        );
    }
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
    let mut proto = fgsm_wasm::grad::decode(&std::fs::read(path)?)?;
    fgsm_wasm::grad::strip_gradient(&mut proto);
    let nodes = proto.graph.as_ref().map_or(0, |g| g.node.len());
    std::fs::write(out, proto.encode_to_vec())?;
    println!("wrote {} ({nodes} nodes)", out.display());
    Ok(())
}

fn grad_graph(input: &PathBuf, output: &PathBuf, options: &fgsm_wasm::grad::Options) -> AnyResult<()> {
    let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let start = Instant::now();
    let (built, report) = fgsm_wasm::grad::build(&bytes, options)?;
    let took = start.elapsed().as_secs_f64();
    // The written file must load as the product reads it.
    let model = Model::from_onnx_bytes(&built)?;
    std::fs::write(output, &built).map_err(|e| format!("{}: {e}", output.display()))?;
    let ops: Vec<String> = report.ops.iter().map(|(op, n)| format!("{op}×{n}")).collect();
    println!(
        "input `{}` {:?}, logits `{}`, {} classes",
        report.input, report.input_shape, report.logits, report.classes
    );
    if let Some(op) = &report.stripped {
        println!("stripped the final {op}: `logits` are the scores before it");
    }
    if report.normalised {
        println!("normalisation put in front: `image` takes pixels in [0, 1]");
    }
    println!("ops on the path from image to logits: {}", ops.join(", "));
    println!(
        "wrote {}: {} bytes, {} backward nodes added, built in {:.0} ms; loads with input {:?}",
        output.display(),
        built.len(),
        report.nodes_added,
        took * 1e3,
        model.input_shape()
    );
    Ok(())
}

/// An f32 as the f64 with the same shortest decimal form, so JSON shows 0.2 rather than 0.2000000029.
fn num(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::NAN)
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
