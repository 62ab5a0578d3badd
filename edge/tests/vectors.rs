//! The shared vectors (edge/vectors/*.json), natively. The same runner runs
//! them in wasm (wasm-tests/) and the handler's Node tests replay them through
//! the Lambda@Edge bundle.

use oncelink_edge::vectors::{run_decide, run_format, run_round_trip, NativeDriver};

#[test]
fn decide_vectors() {
    run_decide(&mut NativeDriver::default()).assert_clean("decide.json", 150);
}

#[test]
fn format_golden_vectors() {
    run_format().assert_clean("format.json", 10);
}

#[test]
fn mint_verify_round_trip() {
    let mut counter = 0u8;
    let mut random = || {
        counter = counter.wrapping_add(1);
        [counter; 16]
    };
    run_round_trip(&mut random).assert_clean("round trip", 5);
}

/// Finding 3 of issue 11: a right and a wrong password guess must be the same
/// store operation but for `miss`, and on a locked, used-up or revoked link
/// get the same whole answer, so neither the store's work nor the reply tells
/// them apart.
#[test]
fn right_and_wrong_guesses_make_the_same_op_but_miss_and_get_the_same_answers_on_a_spent_link() {
    use oncelink_edge::vectors::DECIDE_JSON;
    use oncelink_edge::Validator;
    use serde_json::Value;

    let doc: Value = serde_json::from_str(DECIDE_JSON).unwrap();
    let validator = Validator::from_json(&doc["config"].to_string()).unwrap();
    let case = |name: &str| doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone();
    let (right, wrong) = (case("pw_guess_spent_right"), case("pw_guess_spent_wrong"));
    let step = |c: &Value| -> Value {
        let mut request = c["request"].clone();
        let query = request["query"].as_str().unwrap().replace("{token}", c["token"].as_str().unwrap());
        request["query"] = query.into();
        serde_json::from_str(&validator.decide_json(&request.to_string(), c["now"].as_i64().unwrap()).unwrap()).unwrap()
    };
    let (right_step, wrong_step) = (step(&right), step(&wrong));
    let (mut right_op, mut wrong_op) = (right_step["op"].clone(), wrong_step["op"].clone());
    assert_eq!((&right_op["miss"], &wrong_op["miss"]), (&Value::from(0), &Value::from(1)));
    right_op.as_object_mut().unwrap().remove("miss");
    wrong_op.as_object_mut().unwrap().remove("miss");
    assert_eq!(right_op, wrong_op, "the ops differ in more than miss");
    assert_eq!(right["replies"], wrong["replies"], "the pair's replies and answers are one list");
    for reply in right["replies"].as_array().unwrap() {
        let answer = |s: &Value| validator.resume_json(&s["pending"].to_string(), &reply["reply"].to_string()).unwrap();
        assert_eq!(answer(&right_step), answer(&wrong_step), "{}", reply["reply"]);
    }
}
