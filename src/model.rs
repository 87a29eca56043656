//! An ONNX classifier that carries its own gradient graph, loaded once into two tract plans:
//! forward only (`image → logits`) and forward + gradient (`image, label → logits, loss, input_grad`).
//!
//! The model format is described in models/README.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tract_onnx::pb;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::logic::{Iff, comp_lt};
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};

use crate::error::{Error, Result};

pub const IMAGE: &str = "image";
pub const LABEL: &str = "label";
pub const LOGITS: &str = "logits";
pub const LOSS: &str = "loss";
pub const INPUT_GRAD: &str = "input_grad";
/// The gradient plan's fourth output, added at load (see [`choose_label_in_graph`]): the class whose
/// loss it differentiated.
pub const LABEL_USED: &str = "label_used";

/// ONNX `TensorProto.DataType` codes of the two input types.
const ONNX_FLOAT: i32 = 1;
const ONNX_INT64: i32 = 7;

type Plan = Arc<TypedRunnableModel>;

/// Runs of the forward and of the gradient plans since the program started, over every model: how
/// the benchmark counts the passes a slider step costs in the page.
static FORWARD_RUNS: AtomicU64 = AtomicU64::new(0);
static GRADIENT_RUNS: AtomicU64 = AtomicU64::new(0);

/// `(forward, gradient)` plan runs so far (see [`FORWARD_RUNS`]).
pub fn plan_runs() -> (u64, u64) {
    (FORWARD_RUNS.load(Ordering::Relaxed), GRADIENT_RUNS.load(Ordering::Relaxed))
}

/// The steps of [`Model::from_onnx_bytes_staged`] and [`Model::from_nnef_bytes_staged`], in the
/// order they end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadStage {
    /// Protobuf decode and the checks on the file.
    Parse,
    /// tract's reading of the ONNX graph (`model_for_proto_model`).
    Read,
    /// Type and shape analysis (`into_typed`).
    Typed,
    /// tract's graph simplification, once for both plans (`declutter`).
    Decluttered,
    /// Reading a decluttered graph from NNEF (`Model::from_nnef_bytes_staged`): takes the place of
    /// the four stages above.
    Nnef,
    /// `optimize` + `into_runnable` of the forward-only plan.
    ForwardPlan,
    /// `optimize` + `into_runnable` of the forward + gradient plan.
    GradientPlan,
}

impl LoadStage {
    pub fn name(self) -> &'static str {
        match self {
            LoadStage::Parse => "parse",
            LoadStage::Read => "read graph",
            LoadStage::Typed => "type analysis",
            LoadStage::Decluttered => "declutter",
            LoadStage::Nnef => "read nnef",
            LoadStage::ForwardPlan => "forward plan",
            LoadStage::GradientPlan => "gradient plan",
        }
    }
}

/// tract's code generation, then the execution order.
fn optimized_plan(mut model: TypedModel) -> TractResult<Plan> {
    model.optimize()?;
    model.into_runnable()
}

/// Above this size, tract folds the packing of a constant matrix operand at load time only when that
/// constant has a single consumer (`CONST_FOLD_MEM_BUDGET`, tract-core `optim/mod.rs`).
const TRACT_FOLD_BUDGET: usize = 4 << 20;

/// Gives each consumer of a large shared constant its own `Const` node over the same tensor (an
/// `Arc`, so no copy). A weight that feeds both the forward and the backward matrix product, such as
/// EfficientNet-Lite0's 5 MB classifier, would otherwise be repacked on every run, in both products.
/// `add_node`, not `add_const`: the latter merges constants that are equal by value.
fn unshare_large_constants(model: &mut TypedModel) -> TractResult<()> {
    let shared: Vec<(usize, Arc<Tensor>, Vec<InletId>)> = model
        .nodes()
        .iter()
        .filter_map(|node| {
            let konst = node.op_as::<Const>()?;
            let successors = &node.outputs[0].successors;
            let big = konst.val().len() * konst.val().datum_type().size_of() > TRACT_FOLD_BUDGET;
            (big && successors.len() > 1).then(|| (node.id, konst.val().clone(), successors[1..].to_vec()))
        })
        .collect();
    for (id, tensor, extra_consumers) in shared {
        let fact = model.outlet_fact(OutletId::new(id, 0))?.clone();
        for (k, inlet) in extra_consumers.into_iter().enumerate() {
            let name = format!("{}.unshared{k}", model.node(id).name);
            let op = Const::new(tensor.clone())?;
            let copy = model.add_node(name, op, tvec!(fact.clone()))?;
            model.add_edge(OutletId::new(copy, 0), inlet)?;
        }
    }
    Ok(())
}

/// Lets a negative `label` mean "the model's own prediction": the gradient plan computes
/// `label < 0 ? argmax(logits) : label` before the loss, and returns the class it used as a fourth
/// output, [`LABEL_USED`]. The first attack on a new image then costs one gradient pass instead of a
/// forward pass (to learn the prediction) followed by a gradient pass. Wired into the loaded graph,
/// not written into the model files, so every file gets it, and none ever one-hot-encodes a −1 into
/// a label that matches no class. The gradient graph treats the label as a constant either way, so
/// the gradient is the one for the predicted class given explicitly (tests/label_in_graph.rs).
fn choose_label_in_graph(model: &mut TypedModel) -> TractResult<()> {
    let label = model.inputs[1];
    let logits = model.outputs[0];
    let consumers = model.outlet_successors(label).to_vec();
    // ArgMax keeps the reduced axis ([1, 1]); `false`: the first of equal maxima, like `argmax` below.
    let predicted =
        model.wire_node("label_predicted", Reduce { axes: tvec![1], reducer: Reducer::ArgMax(false) }, &[logits])?;
    let predicted = model.wire_node("label_predicted_flat", AxisOp::Rm(1), &predicted)?[0];
    let zero = model.add_const("label_zero", tensor1(&[0i64]))?;
    let negative = model.wire_node("label_negative", TypedBinOp(comp_lt(), None), &[label, zero])?[0];
    let used = model.wire_node(LABEL_USED, Iff, &[negative, predicted, label])?[0];
    for inlet in consumers {
        model.add_edge(used, inlet)?;
    }
    model.outputs.push(used);
    model.set_outlet_label(used, LABEL_USED.to_string())?;
    Ok(())
}

/// The loss of one labelled input and its gradient with respect to the input pixels.
#[derive(Clone, Debug)]
pub struct Gradient {
    /// Cross-entropy of the logits against the label.
    pub loss: f32,
    /// ∂loss/∂image, same layout as the pixels (CHW).
    pub grad: Vec<f32>,
    /// The class probabilities at the same pixels, which the gradient plan computes on the way.
    pub probs: Vec<f32>,
}

/// Holds no image: an image is set once in a [`Session`](crate::session::Session), which keeps what
/// was computed for it. Cloning is cheap (the two plans are shared), so a session owns its clone.
#[derive(Clone)]
pub struct Model {
    input_shape: [usize; 4],
    num_classes: usize,
    forward: Plan,
    gradient: Plan,
}

impl Model {
    /// Parses ONNX bytes once and prepares both plans. Every way a file can be unfit (not ONNX, no
    /// gradient graph, dynamic image size, operators tract lacks) comes back as an `Error`.
    pub fn from_onnx_bytes(bytes: &[u8]) -> Result<Model> {
        Self::from_onnx_bytes_staged(bytes, &mut |_| {})
    }

    /// [`from_onnx_bytes`](Self::from_onnx_bytes), calling `on_stage` as each [`LoadStage`] ends, so
    /// that a caller with a clock (the CLI, the wasm bindings) can time the load and watch memory.
    pub fn from_onnx_bytes_staged(bytes: &[u8], on_stage: &mut dyn FnMut(LoadStage)) -> Result<Model> {
        let (input_shape, decluttered) = decluttered_from_onnx(bytes, on_stage)?;
        Self::from_decluttered(input_shape, decluttered, on_stage)
    }

    /// Loads the decluttered graph that [`onnx_to_nnef`](crate::nnef::onnx_to_nnef) wrote from an
    /// ONNX file, and prepares both plans as [`from_onnx_bytes`](Self::from_onnx_bytes) would: the
    /// same logits and gradients, without the protobuf decode, the type analysis and the declutter.
    /// A file that is damaged, or that another version wrote, comes back as an `Error`.
    pub fn from_nnef_bytes(bytes: &[u8]) -> Result<Model> {
        Self::from_nnef_bytes_staged(bytes, &mut |_| {})
    }

    /// [`from_nnef_bytes`](Self::from_nnef_bytes) with the stages reported as they end
    /// ([`LoadStage::Nnef`], then the two plans).
    pub fn from_nnef_bytes_staged(bytes: &[u8], on_stage: &mut dyn FnMut(LoadStage)) -> Result<Model> {
        Self::from_nnef_graph(crate::nnef::read(bytes), on_stage)
    }

    /// [`from_nnef_bytes`](Self::from_nnef_bytes) from a file pushed piece by piece into `stream`
    /// while it downloaded: what remains is the checks of its end, tract's building of the graph and
    /// the two plans.
    pub fn from_nnef_stream(stream: crate::nnef::NnefStream) -> Result<Model> {
        Self::from_nnef_stream_staged(stream, &mut |_| {})
    }

    /// [`from_nnef_stream`](Self::from_nnef_stream) with the stages reported as they end, as
    /// [`from_nnef_bytes_staged`](Self::from_nnef_bytes_staged) does.
    pub fn from_nnef_stream_staged(
        stream: crate::nnef::NnefStream,
        on_stage: &mut dyn FnMut(LoadStage),
    ) -> Result<Model> {
        Self::from_nnef_graph(stream.finish(), on_stage)
    }

    fn from_nnef_graph(decluttered: Result<TypedModel>, on_stage: &mut dyn FnMut(LoadStage)) -> Result<Model> {
        let decluttered = decluttered?;
        let input_shape = check_typed_interface(&decluttered)?;
        on_stage(LoadStage::Nnef);
        Self::from_decluttered(input_shape, decluttered, on_stage)
    }

    /// The per-plan steps, from the decluttered whole graph (inputs `image`, `label`; outputs
    /// `logits`, `loss`, `input_grad`).
    fn from_decluttered(
        input_shape: [usize; 4],
        decluttered: TypedModel,
        on_stage: &mut dyn FnMut(LoadStage),
    ) -> Result<Model> {
        // Dropping `label` from the inputs leaves the loss and gradient nodes unreachable from the
        // outputs, so compacting prunes the whole backward pass from this plan. Made first, so that a
        // caller could show a prediction before the gradient plan is ready.
        let forward = decluttered
            .clone()
            .with_input_names([IMAGE])
            .and_then(|m| m.with_outputs_by_name([LOGITS]))
            .and_then(|m| m.into_compact())
            .and_then(optimized_plan)
            .map_err(Error::engine("prepare the forward plan"))?;
        on_stage(LoadStage::ForwardPlan);

        let mut for_gradient = decluttered;
        unshare_large_constants(&mut for_gradient).map_err(Error::engine("prepare the weights"))?;
        choose_label_in_graph(&mut for_gradient).map_err(Error::engine("let the graph choose the label"))?;
        let gradient = optimized_plan(for_gradient).map_err(Error::engine("prepare the gradient plan"))?;
        on_stage(LoadStage::GradientPlan);

        let num_classes = check_outputs(&gradient, input_shape)?;
        Ok(Model { input_shape, num_classes, forward, gradient })
    }

    /// `[1, C, H, W]`.
    pub fn input_shape(&self) -> [usize; 4] {
        self.input_shape
    }

    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// The two tract plans, forward and forward + gradient, for the CLI's profiler.
    #[cfg(feature = "cli")]
    pub fn plans(&self) -> (&Arc<TypedRunnableModel>, &Arc<TypedRunnableModel>) {
        (&self.forward, &self.gradient)
    }

    /// Number of values an image must have: `C·H·W`.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Class probabilities (softmax of the logits) for CHW pixels in [0, 1].
    pub fn predict(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        Ok(softmax(&self.logits(pixels)?))
    }

    /// Class scores before softmax, from the forward plan.
    pub fn logits(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        self.check_pixels(pixels)?;
        FORWARD_RUNS.fetch_add(1, Ordering::Relaxed);
        let outputs = self
            .forward
            .run(tvec!(self.image_tensor(pixels)?.into()))
            .map_err(Error::engine("run the forward plan"))?;
        to_f32_vec(&outputs[0])
    }

    /// Loss and ∂loss/∂pixels for the given label, from the gradient graph inside the model.
    pub fn input_gradient(&self, pixels: &[f32], label: usize) -> Result<Gradient> {
        let label = self.check_label(label as i64)? as i64;
        Ok(self.run_gradient(pixels, label)?.0)
    }

    /// Loss and ∂loss/∂pixels for the class the model predicts on `pixels`, in one gradient pass
    /// (the graph picks the class, see [`choose_label_in_graph`]). → (that class, the gradient, the
    /// logits)
    pub fn predicted_gradient(&self, pixels: &[f32]) -> Result<(usize, Gradient, Vec<f32>)> {
        let (gradient, logits, used) = self.run_gradient(pixels, -1)?;
        Ok((used, gradient, logits))
    }

    /// One run of the gradient plan with `label` (checked, or negative for the prediction). → (the
    /// gradient, the logits, the class the graph used)
    fn run_gradient(&self, pixels: &[f32], label: i64) -> Result<(Gradient, Vec<f32>, usize)> {
        self.check_pixels(pixels)?;
        let label_tensor = Tensor::from_shape(&[1], &[label]).map_err(Error::engine("make the label"))?;
        GRADIENT_RUNS.fetch_add(1, Ordering::Relaxed);
        let outputs = self
            .gradient
            .run(tvec!(self.image_tensor(pixels)?.into(), label_tensor.into()))
            .map_err(Error::engine("run the gradient plan"))?;
        let logits = to_f32_vec(&outputs[0])?;
        let loss = *to_f32_vec(&outputs[1])?.first().ok_or_else(|| Error::Unsupported("`loss` is empty".into()))?;
        let used = outputs[3].to_plain_array_view::<i64>().map_err(Error::engine("read the label used"))?;
        let used = self.check_label(used.iter().next().copied().unwrap_or(-1))?;
        Ok((Gradient { loss, grad: to_f32_vec(&outputs[2])?, probs: softmax(&logits) }, logits, used))
    }

    pub(crate) fn check_label(&self, label: i64) -> Result<usize> {
        usize::try_from(label)
            .ok()
            .filter(|&l| l < self.num_classes)
            .ok_or(Error::Label { label, classes: self.num_classes })
    }

    fn check_pixels(&self, pixels: &[f32]) -> Result<()> {
        if pixels.len() != self.input_len() {
            return Err(Error::PixelCount { expected: self.input_len(), got: pixels.len(), shape: self.input_shape });
        }
        match pixels.iter().position(|p| !(0.0..=1.0).contains(p)) {
            Some(index) => Err(Error::BadPixel { index, value: pixels[index] }),
            None => Ok(()),
        }
    }

    fn image_tensor(&self, pixels: &[f32]) -> Result<Tensor> {
        Tensor::from_shape(&self.input_shape, pixels).map_err(Error::engine("make the image tensor"))
    }
}

/// Parse, quantized-weight folding, tract's reading, type analysis and declutter of an ONNX file:
/// the whole graph both plans start from (what [`crate::nnef`] stores), and the image shape.
pub(crate) fn decluttered_from_onnx(
    bytes: &[u8],
    on_stage: &mut dyn FnMut(LoadStage),
) -> Result<([usize; 4], TypedModel)> {
    if bytes.is_empty() {
        return Err(Error::Parse("the file is empty".into()));
    }
    crate::limits::check_file_size(bytes.len())?;
    let onnx = tract_onnx::onnx();
    let mut proto = onnx.proto_model_for_read(&mut &bytes[..]).map_err(|e| Error::Parse(format!("{e:#}")))?;
    let graph = proto.graph.as_ref().ok_or_else(|| Error::Parse("the file holds no graph".into()))?;
    let input_shape = check_interface(graph)?;
    crate::limits::check_input_shape(input_shape)?;
    // Before tract reads the graph: what it would panic on, and sizes beyond the limits.
    crate::onnx_check::check_model(&proto)?;
    if let Some(graph) = proto.graph.as_mut() {
        crate::quantized_weights::fold_constant_dequantize(graph);
    }
    on_stage(LoadStage::Parse);

    let model = onnx
        .model_for_proto_model(&proto)
        .map_err(Error::engine("read the graph"))?
        .with_input_names([IMAGE, LABEL])
        .and_then(|m| m.with_input_fact(0, f32::fact(input_shape).into()))
        .and_then(|m| m.with_input_fact(1, i64::fact([1]).into()))
        .map_err(Error::engine("set the input shapes"))?;
    drop(proto);
    on_stage(LoadStage::Read);

    // Type analysis and declutter run once, on the whole graph; each plan then only prunes and
    // optimises its own copy (`into_optimized` on each would declutter twice).
    let typed = model
        .with_outputs_by_name([LOGITS, LOSS, INPUT_GRAD])
        .and_then(|m| m.into_typed())
        .map_err(Error::engine("analyse the graph"))?;
    on_stage(LoadStage::Typed);
    let decluttered = typed.into_decluttered().map_err(Error::engine("simplify the graph"))?;
    on_stage(LoadStage::Decluttered);
    Ok((input_shape, decluttered))
}

/// The interface of a graph read from NNEF: inputs `image` (float32 `[1, C, H, W]`) and `label`
/// (int64 `[1]`), outputs `logits`, `loss`, `input_grad`, in that order, as the exporter wrote them.
fn check_typed_interface(model: &TypedModel) -> Result<[usize; 4]> {
    // NNEF names a graph's inputs and outputs; tract keeps them as outlet labels.
    let names = |outlets: &[OutletId]| -> Vec<String> {
        outlets.iter().map(|&o| model.outlet_label(o).unwrap_or(&model.node(o.node).name).to_string()).collect()
    };
    let (inputs, outputs) = (names(&model.inputs), names(&model.outputs));
    if inputs != [IMAGE, LABEL] || outputs != [LOGITS, LOSS, INPUT_GRAD] {
        return Err(Error::Unsupported(format!(
            "the NNEF graph has inputs {inputs:?} and outputs {outputs:?}; expected [image, label] and \
             [logits, loss, input_grad]"
        )));
    }
    let fact = |outlet: OutletId| model.outlet_fact(outlet).map_err(Error::engine("read the input shapes"));
    let image = fact(model.inputs[0])?;
    let label = fact(model.inputs[1])?;
    let dims = image.shape.as_concrete().map(|s| s.to_vec()).unwrap_or_default();
    let shape: [usize; 4] = match dims.as_slice() {
        &[1, c, h, w] if image.datum_type == f32::datum_type() => [1, c, h, w],
        _ => {
            return Err(Error::Unsupported(format!(
                "input `image` must be float32 [1, C, H, W], it is {:?} {:?}",
                image.datum_type, image.shape
            )));
        }
    };
    if label.datum_type != i64::datum_type() || label.shape.as_concrete() != Some(&[1][..]) {
        return Err(Error::Unsupported(format!(
            "input `label` must be int64 [1], it is {:?} {:?}",
            label.datum_type, label.shape
        )));
    }
    if shape[1] != 1 && shape[1] != 3 {
        return Err(Error::Unsupported(format!("input `image` must have 1 or 3 channels, it has {}", shape[1])));
    }
    crate::limits::check_input_shape(shape)?;
    Ok(shape)
}

/// Checks the names and types the product relies on, straight from the ONNX declarations, so a
/// wrong file gets a message about the file rather than an error from deep inside tract.
fn check_interface(graph: &pb::GraphProto) -> Result<[usize; 4]> {
    fn find<'g>(
        list: &'g [pb::ValueInfoProto],
        name: &'static str,
        kind: &'static str,
    ) -> Result<&'g pb::ValueInfoProto> {
        list.iter().find(|v| v.name == name).ok_or(Error::MissingTensor { kind, name })
    }
    let image = find(&graph.input, IMAGE, "input")?;
    let label = find(&graph.input, LABEL, "input")?;
    for name in [LOGITS, LOSS, INPUT_GRAD] {
        find(&graph.output, name, "output")?;
    }

    let (image_type, dims) = tensor_type(image)?;
    if image_type != ONNX_FLOAT {
        return Err(Error::Unsupported(format!("input `image` must be float32 (ONNX type 1), not type {image_type}")));
    }
    let (label_type, _) = tensor_type(label)?;
    if label_type != ONNX_INT64 {
        return Err(Error::Unsupported(format!("input `label` must be int64 (ONNX type 7), not type {label_type}")));
    }
    if dims.len() != 4 {
        return Err(Error::Unsupported(format!(
            "input `image` must have rank 4 [1, C, H, W], it has rank {}",
            dims.len()
        )));
    }
    let mut shape = [1usize; 4];
    for (axis, dim) in dims.iter().enumerate().skip(1) {
        shape[axis] = dim
            .filter(|&d| d > 0)
            .ok_or_else(|| Error::Unsupported(format!("input `image` needs a fixed size; axis {axis} is {dim:?}")))?
            as usize;
    }
    // A symbolic batch axis is fine: the demo always runs one image.
    if let Some(batch) = dims[0].filter(|&b| b != 1) {
        return Err(Error::Unsupported(format!("input `image` must have batch size 1, it has {batch}")));
    }
    if shape[1] != 1 && shape[1] != 3 {
        return Err(Error::Unsupported(format!("input `image` must have 1 or 3 channels, it has {}", shape[1])));
    }
    Ok(shape)
}

/// Element type and dimensions (None where symbolic) of a declared tensor.
fn tensor_type(value: &pb::ValueInfoProto) -> Result<(i32, Vec<Option<i64>>)> {
    crate::grad::proto::declared(value)
        .ok_or_else(|| Error::Unsupported(format!("`{}` is not declared as a tensor", value.name)))
}

/// Checks the shapes tract inferred for the outputs, and returns the number of classes.
fn check_outputs(plan: &Plan, input_shape: [usize; 4]) -> Result<usize> {
    let model = plan.model();
    let shape_of = |ix: usize| -> Result<Vec<usize>> {
        let fact = model.output_fact(ix).map_err(Error::engine("read the output shapes"))?;
        fact.shape
            .as_concrete()
            .map(|s| s.to_vec())
            .ok_or_else(|| Error::Unsupported(format!("output {ix} has no fixed shape: {:?}", fact.shape)))
    };
    let logits = shape_of(0)?;
    let num_classes = match logits.as_slice() {
        [1, k] if *k >= 2 => *k,
        other => {
            return Err(Error::Unsupported(format!("`logits` must have shape [1, K] with K ≥ 2, it has {other:?}")));
        }
    };
    if shape_of(1)?.iter().product::<usize>() != 1 {
        return Err(Error::Unsupported("`loss` must be a single number".into()));
    }
    if shape_of(2)? != input_shape {
        return Err(Error::Unsupported(format!(
            "`input_grad` must have the image's shape {input_shape:?}, it has {:?}",
            shape_of(2)?
        )));
    }
    Ok(num_classes)
}

fn to_f32_vec(value: &TValue) -> Result<Vec<f32>> {
    let view = value.to_plain_array_view::<f32>().map_err(Error::engine("read an output"))?;
    Ok(view.iter().copied().collect())
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|&z| (z - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// Cross-entropy of `logits` against `label`, `log Σ exp(z) − z_label`, as the graph's `loss` output
/// computes it (stable for confident predictions, where `−log softmax` would underflow to ∞).
pub fn cross_entropy(logits: &[f32], label: usize) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|&z| (z - max).exp()).sum();
    max + sum.ln() - logits[label]
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forward_plan_has_no_backward_pass_in_it() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/models/mnist/model.onnx")).unwrap();
        let model = Model::from_onnx_bytes(&bytes).unwrap();
        let ops = |plan: &Plan| plan.model().nodes().iter().map(|n| n.op().name().to_string()).collect::<Vec<_>>();
        let (forward, gradient) = (ops(&model.forward), ops(&model.gradient));
        println!("forward plan: {} nodes {forward:?}\ngradient plan: {} nodes", forward.len(), gradient.len());
        assert!(forward.len() < gradient.len());
        assert!(!forward.iter().any(|op| op.contains("Deconv") || op.contains("OneHot")), "{forward:?}");
        assert_eq!(model.forward.model().inputs.len(), 1, "the forward plan takes no label");
    }
}
