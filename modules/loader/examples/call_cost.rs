//! What crossing the module boundary costs: the same `validator1.easyStructTest` call made
//! N times through the loaded library (encode the parameters as XML-RPC, cross the C ABI,
//! decode, answer, encode, decode) and N times on the module's Rust type directly.
//!
//! `call_cost LIBRARY [N]` (bench/modules.sh builds and runs it).

use std::collections::BTreeMap;
use std::time::Instant;

use zentific_module_api::dxr::Value;
use zentific_module_api::{CallerInfo, Module};
use zentific_module_validator1::Validator1;

fn main() {
    let mut args = std::env::args().skip(1);
    let library = std::path::PathBuf::from(args.next().expect("usage: call_cost LIBRARY [N]"));
    let n: u32 = args.next().map_or(200_000, |n| n.parse().expect("N"));
    let module = zentific_modules::load(&library, "validator1").expect("load validator1");
    let instance = module.instantiate("{}").expect("create");
    let mut members = BTreeMap::new();
    for (name, value) in [("moe", 1), ("larry", 2), ("curly", 3)] {
        members.insert(name.to_owned(), Value::Integer(value));
    }
    let params = vec![Value::Struct(members)];
    let caller = CallerInfo {
        user_id: 0,
        role: 0,
    };

    let direct = Validator1;
    let started = Instant::now();
    for _ in 0..n {
        let answer = direct.call(caller, "easyStructTest", params.clone());
        assert_eq!(answer, Ok(Value::Integer(6)));
    }
    let direct_ns = started.elapsed().as_nanos() as f64 / f64::from(n);

    let started = Instant::now();
    for _ in 0..n {
        let answer = instance.call(caller, "easyStructTest", &params);
        assert_eq!(answer, Ok(Value::Integer(6)));
    }
    let module_ns = started.elapsed().as_nanos() as f64 / f64::from(n);
    println!(
        "easyStructTest x{n}: direct {:.2} µs, through the module ABI {:.2} µs, boundary cost {:.2} µs per call",
        direct_ns / 1000.0,
        module_ns / 1000.0,
        (module_ns - direct_ns) / 1000.0
    );
}
