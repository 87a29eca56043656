//! The decluttered graph, stored as a tract NNEF tar so that a load skips the protobuf decode, the
//! type analysis and the declutter (see `Model::from_nnef_bytes`). The ONNX file stays the source:
//! [`onnx_to_nnef`] derives the tar from it, with the same steps as `Model::from_onnx_bytes`.
//!
//! The tar holds tract's `graph.nnef` and one file per weight tensor. tract's own `.dat` files hold
//! float32, and declutter keeps a second copy of most weights, laid out for the backward pass: 32 MB
//! for EfficientNet-Lite0, against a 5 MB ONNX file with int8 weights. So each tensor is stored in
//! the first of these forms that gives back exactly its float32 bits (checked when writing):
//! - `<label>.perm`: the same values as another tensor of the file, with its axes permuted;
//! - `<label>.q8`: int8 times a float32 scale per index of one axis (how the ONNX file's
//!   `DequantizeLinear` weights were made: `q as f32 · scale`);
//! - `<label>.dat`: tract's format.
//!
//! tract reads only NNEF that its own version wrote, and its NNEF reader is not hardened against
//! damaged input the way the ONNX path is (`onnx_check`). So the tar ends with one entry of ours,
//! `fgsm-wasm.txt`, that names the versions and holds the length and a checksum of everything
//! before it; [`read`] checks it, with fixed offsets and no parsing, before anything else reads a
//! byte. A file that was cut short, damaged in transit or written by another build is then an
//! `Error`. The checksum detects damage, not tampering: the site serves these files itself.

use std::collections::HashMap;
use std::io::Read;

use tract_nnef::ast::{Identifier, ProtoModel};
use tract_nnef::framework::Nnef;
use tract_onnx::WithOnnx;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{TractErrorContext, bail, ensure, format_err};

use crate::error::{Error, Result};

/// The tract version this crate is built with (Cargo.lock pins it; a test checks the two agree).
pub const TRACT_VERSION: &str = "0.23.9";

/// The name of the trailing entry, and the first line of its text.
const TRAILER_NAME: &str = "fgsm-wasm.txt";
const FORMAT: &str = "fgsm-wasm decluttered nnef 1";

/// A tar block; the trailer's header and its text take one each, and the end of the archive two.
const BLOCK: usize = 512;
const TRAILER_BYTES: usize = 4 * BLOCK;

fn framework() -> Nnef {
    tract_nnef::nnef().with_onnx()
}

/// The first line of the trailer after the format: the builds that must agree.
fn versions() -> String {
    format!("tract {TRACT_VERSION}, fgsm-wasm {}", env!("CARGO_PKG_VERSION"))
}

/// A 64-bit checksum of `bytes`, eight at a time (FxHash's step). Each step is a bijection of the
/// running value for a given word, so changing any one word always changes the result; the length
/// is checked apart.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut chunks = bytes.chunks_exact(8);
    let mut h = 0u64;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        h = (h.rotate_left(5) ^ word).wrapping_mul(K);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    (h.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(K)
}

/// The decluttered graph of an ONNX model with its gradient graph, as an uncompressed NNEF tar
/// (hosts compress it in transit). The same bytes for the same ONNX file.
pub fn onnx_to_nnef(onnx: &[u8]) -> Result<Vec<u8>> {
    let (_, decluttered) = crate::model::decluttered_from_onnx(onnx, &mut |_| {})?;
    write(&decluttered)
}

/// `model` as an NNEF tar with the trailer [`read`] checks.
pub(crate) fn write(model: &TypedModel) -> Result<Vec<u8>> {
    let failed = |e: TractError| Error::Engine { stage: "write the graph as NNEF", message: format!("{e:#}") };
    let nnef = framework();
    let proto = tract_nnef::ser::to_proto_model(&nnef, model).map_err(failed)?;
    if proto.quantization.is_some() || !proto.resources.is_empty() {
        return Err(failed(format_err!("the graph has quantization or resources, which this format does not store")));
    }
    let mut graph = Vec::new();
    tract_nnef::ast::dump::Dumper::new(&nnef, &mut graph).document(&proto.doc).map_err(failed)?;
    let mut tar = tar::Builder::new(Vec::new());
    let mut append = |path: &str, data: &[u8]| -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(315_532_800); // 1 Jan 1980, as tract's deterministic tars
        tar.append_data(&mut header, path, data).map_err(|e| failed(e.into()))
    };
    append("graph.nnef", &graph)?;
    let mut labels: Vec<&Identifier> = proto.tensors.keys().collect();
    labels.sort();
    let mut stored: Vec<(&str, &Tensor)> = Vec::new(); // tensors kept whole, candidates for `.perm`
    for label in labels {
        let tensor = &proto.tensors[label];
        tract_nnef::framework::ensure_label_is_relative_path(&label.0).map_err(failed)?;
        let name = label.0.trim_start_matches('/');
        if let Some(data) = as_permutation(tensor, &stored) {
            append(&format!("{name}.perm"), &data)?;
            continue;
        }
        match as_q8(tensor) {
            Some(data) => append(&format!("{name}.q8"), &data)?,
            None => {
                let mut data = Vec::new();
                tract_nnef::tensors::write_tensor(&mut data, tensor).map_err(failed)?;
                append(&format!("{name}.dat"), &data)?;
            }
        }
        stored.push((name, tensor));
    }
    let tar = tar.into_inner().map_err(|e| failed(e.into()))?;
    // tract's tar ends with two zero blocks; the trailer goes before a new pair.
    let body_len = tar.len().checked_sub(2 * BLOCK).filter(|&n| tar[n..].iter().all(|&b| b == 0));
    let Some(body_len) = body_len else {
        return Err(failed(format_err!("unexpected tar ending")));
    };
    let mut bytes = tar;
    bytes.truncate(body_len);
    let text = format!("{FORMAT}\n{}\nbytes {body_len}\nchecksum {:016x}\n", versions(), checksum(&bytes));
    let mut header = [0u8; BLOCK];
    header[..TRAILER_NAME.len()].copy_from_slice(TRAILER_NAME.as_bytes());
    // ustar octal fields: mode, uid, gid, size, mtime (1 Jan 1980, as tract's deterministic tar).
    let octal = |field: &mut [u8], value: u64| {
        let digits = format!("{value:0width$o}\0", width = field.len() - 1);
        field.copy_from_slice(digits.as_bytes());
    };
    octal(&mut header[100..108], 0o644);
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], text.len() as u64);
    octal(&mut header[136..148], 315_532_800);
    header[156] = b'0';
    header[257..265].copy_from_slice(b"ustar\x0000");
    header[148..156].fill(b' ');
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut block = [0u8; BLOCK];
    block[..text.len()].copy_from_slice(text.as_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&block);
    bytes.extend_from_slice(&[0u8; 2 * BLOCK]);
    Ok(bytes)
}

fn damaged(why: impl std::fmt::Display) -> Error {
    Error::Nnef(format!("{why}; the file is damaged or is not this build's (load the ONNX file instead)"))
}

/// Checks the trailer, then reads the NNEF graph: the decluttered graph [`onnx_to_nnef`] wrote.
pub(crate) fn read(bytes: &[u8]) -> Result<TypedModel> {
    if bytes.is_empty() {
        return Err(Error::Nnef("the file is empty".into()));
    }
    crate::limits::check_file_size(bytes.len())?;
    if bytes.len() < TRAILER_BYTES + BLOCK || bytes.len() % BLOCK != 0 {
        return Err(damaged(format!("{} bytes is not the length of a tar file this build wrote", bytes.len())));
    }
    let body_len = bytes.len() - TRAILER_BYTES;
    let (body, trailer) = bytes.split_at(body_len);
    let name = &trailer[..TRAILER_NAME.len() + 1];
    if &name[..TRAILER_NAME.len()] != TRAILER_NAME.as_bytes() || name[TRAILER_NAME.len()] != 0 {
        return Err(damaged(format!("it does not end with the `{TRAILER_NAME}` entry")));
    }
    let text = &trailer[BLOCK..2 * BLOCK];
    let end = text.iter().position(|&b| b == 0).unwrap_or(BLOCK);
    if text[end..].iter().chain(&trailer[2 * BLOCK..]).any(|&b| b != 0) {
        return Err(damaged("the end of the tar is not zeros"));
    }
    let text = std::str::from_utf8(&text[..end]).map_err(|_| damaged(format!("`{TRAILER_NAME}` is not text")))?;
    let mut lines = text.lines();
    if lines.next() != Some(FORMAT) {
        return Err(damaged(format!("`{TRAILER_NAME}` does not start with `{FORMAT}`")));
    }
    let written_by = lines.next().unwrap_or("");
    if written_by != versions() {
        return Err(damaged(format!("it was written by {written_by}, this is {}", versions())));
    }
    let expected = format!("bytes {body_len}\nchecksum {:016x}", checksum(body));
    let found = lines.collect::<Vec<_>>().join("\n");
    if found != expected {
        let (found, expected) = (found.replace('\n', ", "), expected.replace('\n', ", "));
        return Err(damaged(format!("its length or checksum does not match (it says {found}; computed {expected})")));
    }
    let (graph, tensors) = read_entries(body).map_err(|e| damaged(format!("{e:#}")))?;
    let doc = tract_nnef::ast::parse::parse_document(&graph).map_err(|e| Error::Nnef(format!("{e:#}")))?;
    let proto = ProtoModel { doc, tensors, quantization: None, resources: HashMap::new() };
    proto.validate().map_err(|e| Error::Nnef(format!("{e:#}")))?;
    framework().model_for_proto_model(&proto).map_err(Error::engine("read the NNEF graph"))
}

/// `graph.nnef` and the tensors, by label without its leading `/` (tract looks both up), from the
/// tar (its checksum already verified).
fn read_entries(body: &[u8]) -> TractResult<(String, HashMap<Identifier, Arc<Tensor>>)> {
    let mut graph = None;
    let mut tensors: HashMap<Identifier, Arc<Tensor>> = HashMap::new();
    let mut permuted: Vec<(String, Vec<u8>)> = Vec::new(); // resolved once every tensor they may refer to is read
    for entry in tar::Archive::new(body).entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_str().context("a file name is not UTF-8")?.to_string();
        let mut data = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut data)?;
        if path == "graph.nnef" {
            graph = Some(String::from_utf8(data).context("graph.nnef is not UTF-8")?);
        } else if let Some(label) = path.strip_suffix(".dat") {
            let tensor = tract_nnef::tensors::read_tensor(&*data).with_context(|| format!("reading {path}"))?;
            tensors.insert(Identifier(label.to_string()), tensor.into_arc_tensor());
        } else if let Some(label) = path.strip_suffix(".q8") {
            let tensor = from_q8(&data).with_context(|| format!("reading {path}"))?;
            tensors.insert(Identifier(label.to_string()), tensor.into_arc_tensor());
        } else if let Some(label) = path.strip_suffix(".perm") {
            permuted.push((label.to_string(), data));
        } else if path != TRAILER_NAME {
            bail!("unexpected file {path:?} in the tar");
        }
    }
    for (label, data) in permuted {
        let tensor = from_permutation(&data, &tensors).with_context(|| format!("reading {label}.perm"))?;
        tensors.insert(Identifier(label.to_string()), tensor.into_arc_tensor());
    }
    Ok((graph.context("the tar has no graph.nnef")?, tensors))
}

/// A little-endian reader over one of our tensor files.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> TractResult<&'a [u8]> {
        ensure!(n <= self.0.len(), "the file is shorter than its header says");
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> TractResult<usize> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into()?) as usize)
    }
    fn dims(&mut self) -> TractResult<Vec<usize>> {
        let rank = self.u32()?;
        ensure!(rank <= crate::limits::MAX_RANK, "rank {rank}");
        let dims = (0..rank).map(|_| self.u32()).collect::<TractResult<Vec<_>>>()?;
        let len = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64));
        ensure!(len.is_some_and(|n| n <= crate::limits::MAX_TENSOR_ELEMENTS), "shape {dims:?} is too large");
        Ok(dims)
    }
}

fn put_dims(out: &mut Vec<u8>, dims: &[usize]) {
    out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_le_bytes());
    }
}

/// The values of a float32 tensor held in memory.
fn floats(tensor: &Tensor) -> Option<&[f32]> {
    tensor.as_plain_ram()?.as_slice::<f32>().ok()
}

const Q8_MAGIC: &[u8; 4] = b"FGQ8";
const PERM_MAGIC: &[u8; 4] = b"FGPM";

/// `tensor` as int8 · scale[index along one axis], if some axis and scales give back exactly its
/// float32 values: `Q8_MAGIC`, dims, axis, the scales, the int8 values.
fn as_q8(tensor: &Tensor) -> Option<Vec<u8>> {
    let values = floats(tensor)?;
    let shape = tensor.shape();
    if values.len() < 256 {
        return None; // not worth it
    }
    'axis: for axis in 0..shape.len() {
        let (n, inner) = (shape[axis], shape[axis + 1..].iter().product::<usize>());
        let mut scales = vec![0f32; n];
        let mut q = vec![0i8; values.len()];
        for (c, scale) in scales.iter_mut().enumerate() {
            let slice = |f: &mut dyn FnMut(usize)| {
                for outer in 0..values.len() / (n * inner) {
                    for i in 0..inner {
                        f((outer * n + c) * inner + i);
                    }
                }
            };
            let mut peak = 0f32;
            slice(&mut |i| peak = peak.max(values[i].abs()));
            // The peak of a channel was quantized to ±127 (models/tools/quantize_weights.py).
            let guess = peak / 127.0;
            let found = (-3i32..=3).chain([i32::MAX]).find_map(|step| {
                let s = if step == i32::MAX {
                    1.0 // an all-zero channel
                } else {
                    f32::from_bits((guess.to_bits() as i32 + step) as u32)
                };
                let mut ok = s.is_finite() && s > 0.0;
                slice(&mut |i| {
                    if ok {
                        let k = (values[i] / s).round();
                        ok = (-127.0..=127.0).contains(&k) && (k * s).to_bits() == values[i].to_bits();
                        q[i] = k as i8;
                    }
                });
                ok.then_some(s)
            });
            match found {
                Some(s) => *scale = s,
                None => continue 'axis,
            }
        }
        let mut out = Q8_MAGIC.to_vec();
        put_dims(&mut out, shape);
        out.extend_from_slice(&(axis as u32).to_le_bytes());
        scales.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
        out.extend(q.iter().map(|&v| v as u8));
        return Some(out);
    }
    None
}

fn from_q8(data: &[u8]) -> TractResult<Tensor> {
    let mut r = Cursor(data);
    ensure!(r.take(4)? == Q8_MAGIC, "not an FGQ8 tensor");
    let dims = r.dims()?;
    let axis = r.u32()?;
    ensure!(axis < dims.len(), "axis {axis} of a rank {} tensor", dims.len());
    let (n, inner) = (dims[axis], dims[axis + 1..].iter().product::<usize>());
    let scales: Vec<f32> =
        r.take(4 * n)?.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let len: usize = dims.iter().product();
    let q = r.take(len)?;
    ensure!(r.0.is_empty(), "trailing bytes");
    let mut values: Vec<f32> = Vec::with_capacity(len);
    if len > 0 {
        // `len > 0`, so `inner` and `n` are too.
        for (row, chunk) in q.chunks_exact(inner).enumerate() {
            let scale = scales[row % n];
            values.extend(chunk.iter().map(|&v| (v as i8) as f32 * scale));
        }
    }
    Ok(tract_ndarray::ArrayD::from_shape_vec(dims, values)?.into_tensor())
}

/// `tensor` as a permutation of the axes of one of `stored`, if one gives exactly its values:
/// `PERM_MAGIC`, the source label, the permutation, the dims.
fn as_permutation(tensor: &Tensor, stored: &[(&str, &Tensor)]) -> Option<Vec<u8>> {
    if tensor.len() < 256 || tensor.datum_type() != f32::datum_type() {
        return None;
    }
    for (label, source) in stored {
        if source.len() != tensor.len() || source.datum_type() != f32::datum_type() {
            continue;
        }
        for perm in permutations(source.rank()) {
            let Ok(moved) = (*source).clone().permute_axes(&perm) else { continue };
            let same = floats(&moved)?.iter().zip(floats(tensor)?).all(|(a, b)| a.to_bits() == b.to_bits());
            if same {
                let mut out = PERM_MAGIC.to_vec();
                out.extend_from_slice(&(label.len() as u32).to_le_bytes());
                out.extend_from_slice(label.as_bytes());
                put_dims(&mut out, &perm);
                put_dims(&mut out, tensor.shape());
                return Some(out);
            }
        }
    }
    None
}

fn from_permutation(data: &[u8], tensors: &HashMap<Identifier, Arc<Tensor>>) -> TractResult<Tensor> {
    let mut r = Cursor(data);
    ensure!(r.take(4)? == PERM_MAGIC, "not an FGPM tensor");
    let len = r.u32()?;
    let label = std::str::from_utf8(r.take(len)?)?.to_string();
    let perm = r.dims()?;
    let dims = r.dims()?;
    ensure!(r.0.is_empty(), "trailing bytes");
    let source = tensors.get(&Identifier(label.clone())).with_context(|| format!("no tensor {label}"))?;
    let mut sorted = perm.clone();
    sorted.sort();
    ensure!(sorted == (0..source.rank()).collect::<Vec<_>>(), "{perm:?} is not a permutation of {label}'s axes");
    let moved = source.as_ref().clone().permute_axes(&perm)?;
    ensure!(moved.len() == dims.iter().product::<usize>(), "shape {dims:?} does not fit {label}");
    moved.into_shape(&dims)
}

/// Every permutation of `0..rank` (rank ≤ 6 here), the identity first.
fn permutations(rank: usize) -> Vec<Vec<usize>> {
    if rank > 6 {
        return vec![];
    }
    let mut all = vec![vec![]];
    for k in 0..rank {
        all = all
            .into_iter()
            .flat_map(|p: Vec<usize>| {
                (0..=k).map(move |at| {
                    let mut p = p.clone();
                    p.insert(at, k);
                    p
                })
            })
            .collect();
    }
    all.sort();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tract_version_is_the_one_in_cargo_lock() {
        let lock = include_str!("../Cargo.lock");
        let entry = format!("name = \"tract-core\"\nversion = \"{TRACT_VERSION}\"");
        assert!(lock.contains(&entry), "Cargo.lock has another tract-core than {TRACT_VERSION}");
    }

    #[test]
    fn the_checksum_sees_one_changed_bit_and_the_length() {
        let data: Vec<u8> = (0..1001u32).map(|i| (i * 7) as u8).collect();
        let base = checksum(&data);
        for i in [0, 7, 8, 500, 999, 1000] {
            let mut copy = data.clone();
            copy[i] ^= 1;
            assert_ne!(checksum(&copy), base, "bit flip at {i}");
        }
        assert_ne!(checksum(&data[..1000]), base);
    }
}
