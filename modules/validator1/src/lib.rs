//! `validator1`: the eight methods of UserLand's XML-RPC validator suite
//! (<http://xmlrpc.com/validator1Docs.txt>), public (no token), so that a client author can
//! point the stock suite at a Zentific server to test an XML-RPC library.

use std::collections::BTreeMap;

use zentific_module_api::dxr::Value;
use zentific_module_api::{CallerInfo, Fault, Module, declare_module, layer};

/// The module; it has no configuration and no state.
pub struct Validator1;

const INVALID_PARAMS: i32 = -32602;

fn wrong(method: &str, what: &str) -> Fault {
    Fault::new(INVALID_PARAMS, format!("validator1.{method} takes {what}"))
}

fn int(value: &Value) -> Option<i32> {
    match value {
        Value::Integer(n) => Some(*n),
        Value::Long(n) => i32::try_from(*n).ok(),
        _ => None,
    }
}

/// The `curly`, `larry` and `moe` members of a struct, summed.
fn stooges(value: &Value) -> Option<i32> {
    let Value::Struct(members) = value else {
        return None;
    };
    ["curly", "larry", "moe"]
        .iter()
        .try_fold(0i32, |sum, name| sum.checked_add(int(members.get(*name)?)?))
}

impl Module for Validator1 {
    fn create(_config: &str) -> Result<Self, String> {
        Ok(Validator1)
    }

    fn call(&self, _caller: CallerInfo, method: &str, params: Vec<Value>) -> Result<Value, Fault> {
        let first = params.first();
        match method {
            "arrayOfStructsTest" => {
                let Some(Value::Array(items)) = first else {
                    return Err(wrong(method, "an array of structs"));
                };
                let mut sum = 0i32;
                for item in items {
                    let Value::Struct(members) = item else {
                        return Err(wrong(method, "an array of structs"));
                    };
                    let curly = members.get("curly").and_then(int);
                    sum = sum
                        .checked_add(curly.ok_or_else(|| wrong(method, "structs with curly"))?)
                        .ok_or_else(|| wrong(method, "curly values whose sum fits an int"))?;
                }
                Ok(Value::Integer(sum))
            }
            "countTheEntities" => {
                let Some(Value::String(text)) = first else {
                    return Err(wrong(method, "a string"));
                };
                let count =
                    |c: char| Value::Integer(text.chars().filter(|x| *x == c).count() as i32);
                let mut members = BTreeMap::new();
                members.insert("ctLeftAngleBrackets".to_owned(), count('<'));
                members.insert("ctRightAngleBrackets".to_owned(), count('>'));
                members.insert("ctAmpersands".to_owned(), count('&'));
                members.insert("ctApostrophes".to_owned(), count('\''));
                members.insert("ctQuotes".to_owned(), count('"'));
                Ok(Value::Struct(members))
            }
            "easyStructTest" => first
                .and_then(stooges)
                .map(Value::Integer)
                .ok_or_else(|| wrong(method, "a struct with integers moe, larry and curly")),
            "echoStructTest" => match first {
                Some(value @ Value::Struct(_)) => Ok(value.clone()),
                _ => Err(wrong(method, "a struct")),
            },
            "manyTypesTest" => {
                if params.len() != 6 {
                    return Err(wrong(
                        method,
                        "six parameters: int, boolean, string, double, dateTime.iso8601, base64",
                    ));
                }
                Ok(Value::Array(params))
            }
            "moderateSizeArrayCheck" => {
                let Some(Value::Array(items)) = first else {
                    return Err(wrong(method, "an array of strings"));
                };
                match (items.first(), items.last()) {
                    (Some(Value::String(a)), Some(Value::String(b))) => {
                        Ok(Value::String(format!("{a}{b}")))
                    }
                    _ => Err(wrong(method, "a non-empty array of strings")),
                }
            }
            "nestedStructTest" => {
                let day = first
                    .and_then(|v| member(v, "2000"))
                    .and_then(|v| member(v, "04"))
                    .and_then(|v| member(v, "01"));
                day.and_then(stooges).map(Value::Integer).ok_or_else(|| {
                    wrong(
                        method,
                        "a calendar struct with 2000 → 04 → 01 → {moe, larry, curly}",
                    )
                })
            }
            "simpleStructReturnTest" => {
                let n = first.and_then(int).ok_or_else(|| wrong(method, "an int"))?;
                let times = |k: i32| {
                    n.checked_mul(k)
                        .map(Value::Integer)
                        .ok_or_else(|| wrong(method, "an int whose product with 1000 fits an int"))
                };
                let mut members = BTreeMap::new();
                members.insert("times10".to_owned(), times(10)?);
                members.insert("times100".to_owned(), times(100)?);
                members.insert("times1000".to_owned(), times(1000)?);
                Ok(Value::Struct(members))
            }
            other => Err(Fault::new(
                -32601,
                format!("validator1 has no method {other:?}"),
            )),
        }
    }
}

fn member<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Struct(members) => members.get(name),
        _ => None,
    }
}

declare_module! {
    module: Validator1,
    name: "validator1",
    version: env!("CARGO_PKG_VERSION"),
    description: "UserLand's XML-RPC validator suite, public, for testing client libraries against Zentific",
    layers: layer::XMLRPC,
    config_schema: "{}",
    methods: r#"[
 {"name": "arrayOfStructsTest", "help": "The sum of the curly members of an array of structs.", "params": [{"name": "structs", "type": "array"}], "returns": "int", "access": "public", "quick": true},
 {"name": "countTheEntities", "help": "Counts of < > & ' and \" in a string, as {ctLeftAngleBrackets, ctRightAngleBrackets, ctAmpersands, ctApostrophes, ctQuotes}.", "params": [{"name": "text", "type": "string"}], "returns": "struct", "access": "public", "quick": true},
 {"name": "easyStructTest", "help": "moe + larry + curly of a struct.", "params": [{"name": "stooges", "type": "struct"}], "returns": "int", "access": "public", "quick": true},
 {"name": "echoStructTest", "help": "The struct it was given.", "params": [{"name": "value", "type": "struct"}], "returns": "struct", "access": "public", "quick": true},
 {"name": "manyTypesTest", "help": "Its six parameters, as an array.", "params": [{"name": "number", "type": "int"}, {"name": "boolean", "type": "boolean"}, {"name": "string", "type": "string"}, {"name": "double", "type": "double"}, {"name": "dateTime", "type": "dateTime.iso8601"}, {"name": "base64", "type": "base64"}], "returns": "array", "access": "public", "quick": true},
 {"name": "moderateSizeArrayCheck", "help": "The first and last strings of an array, joined.", "params": [{"name": "strings", "type": "array"}], "returns": "string", "access": "public", "quick": true},
 {"name": "nestedStructTest", "help": "moe + larry + curly of April 1st, 2000 in a calendar struct.", "params": [{"name": "calendar", "type": "struct"}], "returns": "int", "access": "public", "quick": true},
 {"name": "simpleStructReturnTest", "help": "{times10, times100, times1000} of a number.", "params": [{"name": "number", "type": "int"}], "returns": "struct", "access": "public", "quick": true}
]"#,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: &str, params: Vec<Value>) -> Result<Value, Fault> {
        Validator1.call(
            CallerInfo {
                user_id: 0,
                role: 0,
            },
            method,
            params,
        )
    }

    fn stooge_struct(moe: i32, larry: i32, curly: i32) -> Value {
        let mut members = BTreeMap::new();
        members.insert("moe".to_owned(), Value::Integer(moe));
        members.insert("larry".to_owned(), Value::Integer(larry));
        members.insert("curly".to_owned(), Value::Integer(curly));
        Value::Struct(members)
    }

    #[test]
    fn the_suite_answers_as_the_spec_says() {
        let structs = Value::Array(vec![stooge_struct(1, 2, 3), stooge_struct(4, 5, 6)]);
        assert_eq!(
            call("arrayOfStructsTest", vec![structs]),
            Ok(Value::Integer(9))
        );
        let Ok(Value::Struct(counts)) = call(
            "countTheEntities",
            vec![Value::String("<a href=\"x\">'&'</a>".into())],
        ) else {
            panic!()
        };
        assert_eq!(counts["ctLeftAngleBrackets"], Value::Integer(2));
        assert_eq!(counts["ctQuotes"], Value::Integer(2));
        assert_eq!(counts["ctAmpersands"], Value::Integer(1));
        assert_eq!(
            call("easyStructTest", vec![stooge_struct(1, 2, 3)]),
            Ok(Value::Integer(6))
        );
        assert_eq!(
            call("echoStructTest", vec![stooge_struct(1, 2, 3)]),
            Ok(stooge_struct(1, 2, 3))
        );
        let strings = Value::Array(vec![
            Value::String("a".into()),
            Value::String("m".into()),
            Value::String("z".into()),
        ]);
        assert_eq!(
            call("moderateSizeArrayCheck", vec![strings]),
            Ok(Value::String("az".into()))
        );
        let mut day = BTreeMap::new();
        day.insert("01".to_owned(), stooge_struct(10, 20, 30));
        let mut month = BTreeMap::new();
        month.insert("04".to_owned(), Value::Struct(day));
        let mut year = BTreeMap::new();
        year.insert("2000".to_owned(), Value::Struct(month));
        assert_eq!(
            call("nestedStructTest", vec![Value::Struct(year)]),
            Ok(Value::Integer(60))
        );
        let Ok(Value::Struct(times)) = call("simpleStructReturnTest", vec![Value::Integer(7)])
        else {
            panic!()
        };
        assert_eq!(times["times1000"], Value::Integer(7000));
        assert!(call("simpleStructReturnTest", vec![Value::Integer(i32::MAX)]).is_err());
        assert_eq!(
            call("manyTypesTest", vec![Value::Integer(1)])
                .unwrap_err()
                .code,
            -32602
        );
        assert_eq!(call("nope", vec![]).unwrap_err().code, -32601);
    }
}
