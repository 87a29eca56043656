//! Shapes, element types and constant values of every tensor of the forward graph, from tract's own
//! type analysis of the file (so they are what tract will compute, not a second opinion).

use std::collections::HashMap;
use std::sync::Arc;

use tract_onnx::pb;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::fail;
use crate::error::Result;

#[derive(Clone, Debug, Default)]
pub struct Fact {
    pub shape: Option<Vec<usize>>,
    pub datum_type: Option<DatumType>,
    /// Known when the tensor does not depend on the image (tract folds constant subgraphs up to
    /// 4 MiB, and knows every initializer).
    pub value: Option<Arc<Tensor>>,
}

pub struct Facts(HashMap<String, Fact>);

impl Facts {
    /// Runs tract's type analysis on `graph` with the image fixed to `shape`.
    pub fn analyse(model: &pb::ModelProto, image: &str, shape: [usize; 4]) -> Result<Facts> {
        let onnx = tract_onnx::onnx();
        let parsed = onnx.parse(model, None).map_err(|e| fail(format!("tract could not read the graph: {e:#}")))?;
        let mut inference = parsed.model;
        let outlet = *parsed.outlets_by_name.get(image).ok_or_else(|| fail(format!("no tensor named `{image}`")))?;
        inference
            .set_outlet_fact(outlet, f32::fact(shape).into())
            .map_err(|e| fail(format!("tract could not fix the input shape: {e:#}")))?;
        inference.analyse(false).map_err(|e| fail(format!("tract's shape analysis failed: {e:#}")))?;
        let mut facts = HashMap::new();
        for (name, outlet) in parsed.outlets_by_name {
            let Ok(fact) = inference.outlet_fact(outlet) else { continue };
            let shape = fact.shape.as_concrete_finite().ok().flatten().map(|s| s.to_vec());
            facts
                .insert(name, Fact { shape, datum_type: fact.datum_type.concretize(), value: fact.value.concretize() });
        }
        Ok(Facts(facts))
    }

    pub fn get(&self, name: &str) -> Option<&Fact> {
        self.0.get(name)
    }

    pub fn shape(&self, name: &str) -> Result<Vec<usize>> {
        self.get(name)
            .and_then(|f| f.shape.clone())
            .ok_or_else(|| fail(format!("tract inferred no fixed shape for tensor `{name}`")))
    }

    pub fn rank(&self, name: &str) -> Result<usize> {
        Ok(self.shape(name)?.len())
    }

    pub fn value(&self, name: &str) -> Option<Arc<Tensor>> {
        self.get(name).and_then(|f| f.value.clone())
    }

    /// A constant integer tensor (axes, pads, indices), flattened.
    pub fn ints(&self, name: &str, what: &str) -> Result<Vec<i64>> {
        let value = self.value(name).ok_or_else(|| fail(format!("{what} (`{name}`) must be a constant")))?;
        let cast = value.cast_to::<i64>().map_err(|e| fail(format!("{what} (`{name}`) is not integer: {e}")))?;
        let view = cast.to_plain_array_view::<i64>().map_err(|e| fail(format!("{what} (`{name}`): {e}")))?;
        Ok(view.iter().copied().collect())
    }

    /// A constant float tensor, flattened, with its shape.
    pub fn floats(&self, name: &str) -> Option<(Vec<f32>, Vec<usize>)> {
        let value = self.value(name)?;
        let cast = value.cast_to::<f32>().ok()?;
        let view = cast.to_plain_array_view::<f32>().ok()?;
        Some((view.iter().copied().collect(), value.shape().to_vec()))
    }

    pub fn is_float(&self, name: &str) -> bool {
        self.get(name).and_then(|f| f.datum_type).is_some_and(|d| d.is_float())
    }
}

impl Facts {
    pub fn rename(&mut self, old: &str, new: &str) {
        if let Some(fact) = self.0.remove(old) {
            self.0.insert(new.into(), fact);
        }
    }

    /// A float32 tensor the builder adds to the forward graph.
    pub fn insert_shape(&mut self, name: &str, shape: Vec<usize>) {
        self.0.insert(name.into(), Fact { shape: Some(shape), datum_type: Some(DatumType::F32), value: None });
    }
}
