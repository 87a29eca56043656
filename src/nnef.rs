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
//! before it. The reader ([`NnefStream`], which reads the file while it downloads) checks it, with
//! fixed offsets and no parsing, before tract builds anything from the file; what it reads before
//! (the entries, as they arrive) it reads defensively and never hands to tract unverified. A file
//! that was cut short, damaged in transit or written by another build is then an `Error`. The
//! checksum detects damage, not tampering: the site serves these files itself.

use std::collections::HashMap;

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

thread_local! {
    /// tract's NNEF framework with its ONNX operators, built once per thread: building it parses
    /// tract's NNEF standard library (about 8 ms natively, four times that in a browser). A thread's
    /// own, since tract does not say that it may be shared between threads (wasm has one thread).
    static FRAMEWORK: Nnef = tract_nnef::nnef().with_onnx();
}

/// The first line of the trailer after the format: the builds that must agree.
fn versions() -> String {
    format!("tract {TRACT_VERSION}, fgsm-wasm {}", env!("CARGO_PKG_VERSION"))
}

/// A 64-bit checksum of `bytes`, eight at a time (FxHash's step). Each step is a bijection of the
/// running value for a given word, so changing any one word always changes the result; the length
/// is checked apart.
fn checksum(bytes: &[u8]) -> u64 {
    let mut sum = Checksum::default();
    let whole = bytes.len() / 8 * 8;
    sum.words(&bytes[..whole]);
    sum.finish(&bytes[whole..])
}

/// [`checksum`], summed as the bytes arrive.
#[derive(Default)]
struct Checksum(u64);

impl Checksum {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn step(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }

    /// Whole words only: `bytes.len()` is a multiple of 8 (a remainder is ignored).
    fn words(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks_exact(8) {
            self.step(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        }
    }

    /// The sum, after a last word of `tail` (under 8 bytes) padded with zeros.
    fn finish(mut self, tail: &[u8]) -> u64 {
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        self.step(u64::from_le_bytes(word));
        self.0
    }
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
    let written = FRAMEWORK.with(|nnef| -> TractResult<_> {
        let proto = tract_nnef::ser::to_proto_model(nnef, model)?;
        let mut graph = Vec::new();
        tract_nnef::ast::dump::Dumper::new(nnef, &mut graph).document(&proto.doc)?;
        Ok((proto, graph))
    });
    let (proto, graph) = written.map_err(failed)?;
    if proto.quantization.is_some() || !proto.resources.is_empty() {
        return Err(failed(format_err!("the graph has quantization or resources, which this format does not store")));
    }
    let mut tar = tar::Builder::new(Vec::new());
    let mut append = |path: &str, data: &[u8]| -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(315_532_800); // 1 Jan 1980, as tract's deterministic tars
        tar.append_data(&mut header, path, data).map_err(|e| failed(e.into()))
    };
    // The graph first (the trailer stays last): a reader that reads the file as it downloads then
    // parses the graph while the weights are still on their way.
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
                check_dat(&data).with_context(|| format!("writing {name}.dat")).map_err(failed)?;
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
/// The whole file at once, through the one reader, [`NnefStream`].
pub(crate) fn read(bytes: &[u8]) -> Result<TypedModel> {
    let mut stream = NnefStream::new();
    stream.push(bytes)?;
    stream.finish()
}

/// A reader of the NNEF tar that takes the file in pieces as it downloads, so that when its last byte
/// arrives only tract's building of the graph remains: each entry is read as soon as its bytes are
/// complete (`graph.nnef` parsed, `.q8` and `.dat` tensors decoded, a `.perm` resolved once its
/// source tensor is there), and the checksum is summed as the bytes pass. Pieces may be cut anywhere.
///
/// The trailer, the length and the checksum can only be checked at the end ([`finish`]), after the
/// entries were read from bytes not yet verified. So reading an entry stops at the first thing that
/// does not fit (a header that fails its own checksum, a size beyond the limits, a tensor whose
/// header disagrees with its data) and keeps the error for `finish`, which reports a damaged file
/// the way the whole-file reader always did: the trailer's verdict first, then the entry's error.
///
/// [`finish`]: NnefStream::finish
pub struct NnefStream {
    /// Bytes pushed so far (also those over the file size limit, which are not kept).
    len: usize,
    /// The bytes from offset `kept_from` of the file that the checksum or the entry reader still
    /// needs: the checksum stays `TRAILER_BYTES` behind the end, where the trailer may begin.
    kept: Vec<u8>,
    kept_from: usize,
    checksum: Checksum,
    /// Offset of the first byte the checksum has not summed yet.
    summed: usize,
    entries: Entries,
}

/// What the entry reader has found so far, and where it is in the tar.
struct Entries {
    /// Offset of the next header, or of the current entry's header while its data arrives.
    at: usize,
    state: TarState,
    /// From a GNU long-name entry: the name of the entry after it.
    long_name: Option<String>,
    doc: Option<tract_nnef::ast::Document>,
    tensors: HashMap<Identifier, Arc<Tensor>>,
    /// `.perm` entries whose source tensor has not come yet, by that source's label.
    waiting: Vec<Permutation>,
    /// The first problem, reported by `finish` once the trailer has been checked.
    problem: Option<Error>,
}

enum TarState {
    /// Waiting for the header block at `at`.
    Header,
    /// Waiting for the data of the entry whose header is at `at`.
    Data { path: String, size: usize, long_name: bool },
    /// Reached our trailer's header, at `at`: the entries are all read.
    Trailer,
    /// Stopped: a problem was found (in `problem`), or the tar ended before the trailer.
    Stopped,
}

impl Default for NnefStream {
    fn default() -> Self {
        Self::new()
    }
}

impl NnefStream {
    /// Also builds tract's NNEF framework for this thread, if not yet done, so that its cost is paid
    /// before the file arrives rather than after.
    pub fn new() -> NnefStream {
        FRAMEWORK.with(|_| ());
        NnefStream {
            len: 0,
            kept: Vec::new(),
            kept_from: 0,
            checksum: Checksum::default(),
            summed: 0,
            entries: Entries {
                at: 0,
                state: TarState::Header,
                long_name: None,
                doc: None,
                tensors: HashMap::new(),
                waiting: Vec::new(),
                problem: None,
            },
        }
    }

    /// The next piece of the file. Fails only when the file grows beyond the size limit; a damaged
    /// file is reported by `finish`.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        self.len = self.len.saturating_add(chunk.len());
        if let Err(e) = crate::limits::check_file_size(self.len) {
            self.kept = Vec::new(); // nothing more will be read
            return Err(e);
        }
        self.kept.extend_from_slice(chunk);
        // The checksum runs over whole words, up to where the trailer may begin.
        let until = self.len.saturating_sub(TRAILER_BYTES) / 8 * 8;
        if until > self.summed {
            self.checksum.words(&self.kept[self.summed - self.kept_from..until - self.kept_from]);
            self.summed = until;
        }
        self.entries.read(&self.kept, self.kept_from);
        // Drop what neither needs any more, once that is at least half of what is kept (so that
        // each byte is moved a bounded number of times, whatever the size of the pieces).
        let needed = match self.entries.state {
            TarState::Header | TarState::Data { .. } => self.entries.at.min(self.summed),
            TarState::Trailer | TarState::Stopped => self.summed,
        };
        let done = needed - self.kept_from;
        if done > 0 && done * 2 >= self.kept.len() {
            self.kept.drain(..done);
            self.kept_from = needed;
            // After a large piece (a whole file at once), not hold its size until `finish` is done.
            if self.kept.capacity() > 4 * self.kept.len().max(1 << 16) {
                self.kept.shrink_to(2 * self.kept.len());
            }
        }
        Ok(())
    }

    /// Checks the trailer, the length and the checksum, then builds tract's graph from what was read.
    pub fn finish(self) -> Result<TypedModel> {
        let len = self.len;
        if len == 0 {
            return Err(Error::Nnef("the file is empty".into()));
        }
        crate::limits::check_file_size(len)?;
        if len < TRAILER_BYTES + BLOCK || len % BLOCK != 0 {
            return Err(damaged(format!("{len} bytes is not the length of a tar file this build wrote")));
        }
        let body_len = len - TRAILER_BYTES;
        // `push` keeps at least the bytes the checksum has not summed, which here are the trailer's.
        let trailer = &self.kept[body_len - self.kept_from..];
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
        let expected = format!("bytes {body_len}\nchecksum {:016x}", self.checksum.finish(&[]));
        let found = lines.collect::<Vec<_>>().join("\n");
        if found != expected {
            let (found, expected) = (found.replace('\n', ", "), expected.replace('\n', ", "));
            return Err(damaged(format!(
                "its length or checksum does not match (it says {found}; computed {expected})"
            )));
        }
        let Entries { at, state, doc, tensors, waiting, problem, .. } = self.entries;
        if let Some(problem) = problem {
            return Err(problem);
        }
        if !matches!(state, TarState::Trailer) || at != body_len {
            return Err(damaged(format!("the tar's entries do not end where `{TRAILER_NAME}` begins")));
        }
        if let Some(p) = waiting.first() {
            return Err(damaged(format!("reading {}.perm: no tensor {}", p.label, p.source)));
        }
        let doc = doc.ok_or_else(|| damaged("the tar has no graph.nnef"))?;
        let proto = ProtoModel { doc, tensors, quantization: None, resources: HashMap::new() };
        proto.validate().map_err(|e| Error::Nnef(format!("{e:#}")))?;
        FRAMEWORK.with(|nnef| nnef.model_for_proto_model(&proto)).map_err(Error::engine("read the NNEF graph"))
    }
}

impl Entries {
    /// Reads every entry now complete in `kept` (the file's bytes from offset `from`).
    fn read(&mut self, kept: &[u8], from: usize) {
        loop {
            if matches!(self.state, TarState::Trailer | TarState::Stopped) {
                return; // `push` may have dropped the bytes from `at` on
            }
            let here = &kept[self.at - from..];
            let available = here.len();
            match &self.state {
                TarState::Header if available >= BLOCK => match self.header(&here[..BLOCK]) {
                    Ok(next) => self.state = next,
                    Err(e) => self.stop(damaged(format!("{e:#}"))),
                },
                TarState::Data { path, size, long_name } if available >= BLOCK + size.next_multiple_of(BLOCK) => {
                    let (path, size, long_name) = (path.clone(), *size, *long_name);
                    let data = &here[BLOCK..BLOCK + size];
                    self.at += BLOCK + size.next_multiple_of(BLOCK);
                    self.state = TarState::Header;
                    if long_name {
                        let name = data.strip_suffix(b"\0").unwrap_or(data);
                        match std::str::from_utf8(name) {
                            Ok(name) => self.long_name = Some(name.to_string()),
                            Err(_) => self.stop(damaged("a file name is not UTF-8")),
                        }
                    } else if let Err(e) = self.entry(&path, data) {
                        self.stop(e);
                    }
                }
                _ => return,
            }
        }
    }

    fn stop(&mut self, problem: Error) {
        self.problem.get_or_insert(problem);
        self.state = TarState::Stopped;
    }

    /// What follows the header `block`: an entry's data, or the end of the entries.
    fn header(&mut self, block: &[u8]) -> TractResult<TarState> {
        if block.iter().all(|&b| b == 0) {
            return Ok(TarState::Stopped); // the end of a tar, before our trailer: `finish` says so
        }
        let header = tar::Header::from_byte_slice(block);
        let sum: u32 =
            block[..148].iter().chain(&block[156..]).map(|&b| u32::from(b)).sum::<u32>() + 8 * u32::from(b' ');
        ensure!(header.cksum()? == sum, "a tar header's checksum does not match");
        let long_name = header.entry_type().is_gnu_longname();
        let path = match self.long_name.take() {
            Some(path) if !long_name => path,
            None => std::str::from_utf8(&header.path_bytes()).context("a file name is not UTF-8")?.to_string(),
            Some(_) => bail!("two long names for one file in the tar"),
        };
        ensure!(long_name || header.entry_type().is_file(), "{path:?} in the tar is not a file");
        if path == TRAILER_NAME && !long_name {
            return Ok(TarState::Trailer);
        }
        let size = header.entry_size()?;
        let size = usize::try_from(size).ok().filter(|&n| n <= crate::limits::MAX_FILE_BYTES);
        let size = size.with_context(|| format!("{path:?} in the tar is larger than a model file may be"))?;
        Ok(TarState::Data { path, size, long_name })
    }

    /// Reads one entry: `graph.nnef` or a tensor, by label without its leading `/` (tract looks both
    /// up).
    fn entry(&mut self, path: &str, data: &[u8]) -> Result<()> {
        if path == "graph.nnef" {
            let text = std::str::from_utf8(data).map_err(|_| damaged("graph.nnef is not UTF-8"))?;
            let doc = tract_nnef::ast::parse::parse_document(text).map_err(|e| Error::Nnef(format!("{e:#}")))?;
            self.doc = Some(doc);
            return Ok(());
        }
        let tensor = if let Some(label) = path.strip_suffix(".dat") {
            read_dat(data).map(|t| (label, t))
        } else if let Some(label) = path.strip_suffix(".q8") {
            from_q8(data).map(|t| (label, t))
        } else if let Some(label) = path.strip_suffix(".perm") {
            let permutation = Permutation::parse(label, data).with_context(|| format!("reading {path}"));
            let permutation = permutation.map_err(|e| damaged(format!("{e:#}")))?;
            if !self.tensors.contains_key(&Identifier(permutation.source.clone())) {
                self.waiting.push(permutation);
                return Ok(());
            }
            permutation.apply(&self.tensors).map(|t| (label, t))
        } else {
            return Err(damaged(format!("unexpected file {path:?} in the tar")));
        };
        let (label, tensor) =
            tensor.with_context(|| format!("reading {path}")).map_err(|e| damaged(format!("{e:#}")))?;
        self.insert(label, tensor)
    }

    /// Adds a tensor, then the permutations of it that were waiting for it.
    fn insert(&mut self, label: &str, tensor: Tensor) -> Result<()> {
        self.tensors.insert(Identifier(label.to_string()), tensor.into_arc_tensor());
        let (ready, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.waiting).into_iter().partition(|p| p.source == label);
        self.waiting = waiting;
        for p in ready {
            let tensor = p.apply(&self.tensors).with_context(|| format!("reading {}.perm", p.label));
            self.insert(&p.label, tensor.map_err(|e| damaged(format!("{e:#}")))?)?;
        }
        Ok(())
    }
}

/// tract's `.dat` tensor, after checking that its header agrees with its data: tract's reader trusts
/// the header's shape and size (it allocates the tensor before reading it, and some sizes overflow),
/// and here it reads bytes whose checksum is not verified yet. Only the types [`write`] stores: plain
/// numbers, and booleans a byte each.
fn read_dat(data: &[u8]) -> TractResult<Tensor> {
    check_dat(data)?;
    tract_nnef::tensors::read_tensor(data)
}

/// The layout of tract's 128-byte tensor header (tract-nnef `tensors.rs`).
const DAT_HEADER: usize = 128;

fn check_dat(data: &[u8]) -> TractResult<()> {
    ensure!(data.len() >= DAT_HEADER, "the file is shorter than a tensor header");
    let word = |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as u64;
    let half = |at: usize| u16::from_le_bytes([data[at], data[at + 1]]);
    let (size, rank, bits, item_type, vendor) = (word(4), word(8), word(44), half(48), half(50));
    ensure!(data[..2] == [0x4e, 0xef], "not a tensor file");
    ensure!(rank as usize <= crate::limits::MAX_RANK, "rank {rank}");
    let dims: Vec<u64> = (0..rank as usize).map(|i| word(12 + 4 * i)).collect();
    let len = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
    let len = len.filter(|&n| n <= crate::limits::MAX_TENSOR_ELEMENTS).with_context(|| format!("shape {dims:?}"))?;
    let numbers = vendor == 0 && item_type <= 4 && matches!(bits, 8 | 16 | 32 | 64);
    let booleans = vendor == 0 && item_type == 5 && bits == 8 && len > 0;
    ensure!(
        numbers || booleans,
        "a tensor of type {item_type}, vendor {vendor}, {bits} bits, which this format does not store"
    );
    ensure!(
        size == len * bits / 8 && data.len() as u64 == DAT_HEADER as u64 + size,
        "the tensor's header does not match its data"
    );
    Ok(())
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

/// A `.perm` entry read, to apply once its source tensor is there.
struct Permutation {
    label: String,
    source: String,
    perm: Vec<usize>,
    dims: Vec<usize>,
}

impl Permutation {
    fn parse(label: &str, data: &[u8]) -> TractResult<Permutation> {
        let mut r = Cursor(data);
        ensure!(r.take(4)? == PERM_MAGIC, "not an FGPM tensor");
        let len = r.u32()?;
        let source = std::str::from_utf8(r.take(len)?)?.to_string();
        let perm = r.dims()?;
        let dims = r.dims()?;
        ensure!(r.0.is_empty(), "trailing bytes");
        Ok(Permutation { label: label.to_string(), source, perm, dims })
    }

    fn apply(&self, tensors: &HashMap<Identifier, Arc<Tensor>>) -> TractResult<Tensor> {
        let Permutation { source: label, perm, dims, .. } = self;
        let source = tensors.get(&Identifier(label.clone())).with_context(|| format!("no tensor {label}"))?;
        let mut sorted = perm.clone();
        sorted.sort();
        ensure!(sorted == (0..source.rank()).collect::<Vec<_>>(), "{perm:?} is not a permutation of {label}'s axes");
        let moved = source.as_ref().clone().permute_axes(perm)?;
        ensure!(moved.len() == dims.iter().product::<usize>(), "shape {dims:?} does not fit {label}");
        moved.into_shape(dims)
    }
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
    fn a_stream_reads_long_file_names_and_permutations_that_come_before_their_source() {
        let label = format!("net/{}/Conv.weight", "a_very_long_layer_name".repeat(6));
        let tensor = Tensor::from_shape(&[2, 3], &[1f32, 2., 3., 4., 5., 6.]).unwrap();
        let mut dat = Vec::new();
        tract_nnef::tensors::write_tensor(&mut dat, &tensor).unwrap();
        let mut perm = PERM_MAGIC.to_vec();
        perm.extend_from_slice(&(label.len() as u32).to_le_bytes());
        perm.extend_from_slice(label.as_bytes());
        put_dims(&mut perm, &[1, 0]);
        put_dims(&mut perm, &[3, 2]);
        let mut tar = tar::Builder::new(Vec::new());
        for (path, data) in [("moved.perm".to_string(), &perm), (format!("{label}.dat"), &dat)] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            tar.append_data(&mut header, path, &data[..]).unwrap();
        }
        let tar = tar.into_inner().unwrap();
        assert!(label.len() > 100 && tar.windows(13).any(|w| w == b"././@LongLink"), "a GNU long name");
        for piece in [1, 100, tar.len()] {
            let mut stream = NnefStream::new();
            tar.chunks(piece).for_each(|chunk| stream.push(chunk).unwrap());
            let entries = &stream.entries;
            assert!(entries.problem.is_none(), "{:?}", entries.problem);
            assert!(entries.waiting.is_empty(), "the permutation was resolved once its source came");
            assert_eq!(*entries.tensors[&Identifier(label.clone())], tensor);
            let moved = &entries.tensors[&Identifier("moved".into())];
            assert_eq!(**moved, tensor.clone().permute_axes(&[1, 0]).unwrap());
        }
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
