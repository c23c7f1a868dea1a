//! Proof that the browser bundle really uses SIMD128: a build that silently lost
//! `+simd128` or blake3's `wasm32_simd` still works, only ≈1.5× slower, so the build counts
//! the v128 instructions in the module and fails when there are none.

use anyhow::{bail, Context, Result};
use wasmparser::{Operator, Parser, Payload};

/// Instruction name prefixes of the SIMD128 proposal (`v128.*`, `i8x16.*` … `f64x2.*`).
const SIMD_PREFIXES: [&str; 7] = ["V128", "I8x16", "I16x8", "I32x4", "I64x2", "F32x4", "F64x2"];

fn is_simd(op: &Operator) -> bool {
    let name = format!("{op:?}");
    SIMD_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The number of SIMD128 instructions in the function bodies of a module.
pub fn count_simd_ops(module: &[u8]) -> Result<usize> {
    let mut count = 0;
    for payload in Parser::new(0).parse_all(module) {
        if let Payload::CodeSectionEntry(body) = payload.context("not a wasm module")? {
            let mut ops = body.get_operators_reader()?;
            while !ops.eof() {
                if is_simd(&ops.read()?) {
                    count += 1;
                }
            }
        }
    }
    Ok(count)
}

/// Fails unless the module at `path` holds SIMD128 instructions; returns how many.
pub fn require_simd(path: &std::path::Path) -> Result<usize> {
    let module = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let count = count_simd_ops(&module)?;
    if count == 0 {
        bail!(
            "{} has no SIMD128 instructions: is `-C target-feature=+simd128` set for \
             wasm32 in .cargo/config.toml and blake3's `wasm32_simd` feature enabled?",
            path.display()
        );
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(module (func (result v128) v128.const i64x2 0 0 i32x4.add …))` and a scalar twin,
    /// assembled by hand: type, function and code sections.
    fn module(body: &[u8], result: u8) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([1, 5, 1, 0x60, 0, 1, result]); // type section: () -> result
        m.extend([3, 2, 1, 0]); // function section: one function of type 0
        let mut code = vec![0]; // no locals
        code.extend_from_slice(body);
        code.push(0x0b); // end
        m.extend([10, code.len() as u8 + 2, 1, code.len() as u8]);
        m.extend(code);
        m
    }

    #[test]
    fn counts_v128_instructions() {
        // v128.const (0xfd 12, 16 bytes), v128.const, i32x4.add (0xfd 174 = 0xae 0x01)
        let mut body = vec![0xfd, 12];
        body.extend([0; 16]);
        body.extend([0xfd, 12]);
        body.extend([0; 16]);
        body.extend([0xfd, 0xae, 0x01]);
        assert_eq!(count_simd_ops(&module(&body, 0x7b)).unwrap(), 3);
    }

    #[test]
    fn a_scalar_module_has_none() {
        // i32.const 7
        assert_eq!(count_simd_ops(&module(&[0x41, 7], 0x7f)).unwrap(), 0);
        assert!(count_simd_ops(b"not wasm").is_err());
    }
}
