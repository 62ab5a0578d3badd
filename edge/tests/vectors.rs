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

/// Finding 3 of issue 11, with throttling: a right and a wrong password
/// guess make the same guard read; on a locked, used-up or revoked link (or
/// a waiting network) they get the same whole answer with nothing compared;
/// on a live link their attempts differ only in values (`miss` and the
/// digits of the throttle state, of the same length), so neither the store's
/// work nor the reply tells them apart.
#[test]
fn right_and_wrong_guesses_make_the_same_ops_but_values_and_get_the_same_answers_on_a_spent_link() {
    use oncelink_edge::vectors::DECIDE_JSON;
    use oncelink_edge::Validator;
    use serde_json::Value;

    let doc: Value = serde_json::from_str(DECIDE_JSON).unwrap();
    let case = |name: &str| doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone();
    let (right, wrong) = (case("pw_guess_spent_right"), case("pw_guess_spent_wrong"));
    let mut config = doc["config"].clone();
    config.as_object_mut().unwrap().extend(right["config"].as_object().unwrap().clone());
    let validator = Validator::from_json(&config.to_string()).unwrap();
    let step = |c: &Value| -> Value {
        let mut request = c["request"].clone();
        let query = request["query"].as_str().unwrap().replace("{token}", c["token"].as_str().unwrap());
        request["query"] = query.into();
        let asked: Value =
            serde_json::from_str(&validator.decide_json(&request.to_string(), c["now"].as_i64().unwrap()).unwrap())
                .unwrap();
        assert_eq!(asked["step"], "need_body");
        let body = c["replies"][0]["body"].to_string();
        serde_json::from_str(&validator.give_body_json(&asked["pending"].to_string(), &body).unwrap()).unwrap()
    };
    let (right_step, wrong_step) = (step(&right), step(&wrong));
    let op = |s: &Value| s["pending"]["op"].clone();
    assert_eq!(op(&right_step)["kind"], "guard");
    assert_eq!(op(&right_step), op(&wrong_step), "the guard reads differ");
    let (right_replies, wrong_replies) = (&right["replies"][0]["then"], &wrong["replies"][0]["then"]);
    assert_eq!(right_replies, wrong_replies, "the pair's replies and answers are one list");
    let answer = |s: &Value, reply: &Value| -> Value {
        serde_json::from_str(&validator.resume_json(&s["pending"].to_string(), &reply.to_string()).unwrap()).unwrap()
    };
    for reply in right_replies.as_array().unwrap() {
        assert_eq!(answer(&right_step, &reply["reply"]), answer(&wrong_step, &reply["reply"]), "{}", reply["reply"]);
    }
    let live = serde_json::json!({"reply": "guarded", "used": 0, "revoked": false, "failures": 2, "version": 2,
        "throttle": "01767225000.00002/otherNET.00002.01767225000.00000000000"});
    let (right_attempt, wrong_attempt) = (answer(&right_step, &live), answer(&wrong_step, &live));
    let (mut right_op, mut wrong_op) = (op(&right_attempt), op(&wrong_attempt));
    assert_eq!((&right_op["miss"], &wrong_op["miss"]), (&Value::from(0), &Value::from(1)));
    let (right_state, wrong_state) = (right_op["throttle"].as_str().unwrap(), wrong_op["throttle"].as_str().unwrap());
    assert_eq!(right_state.len(), wrong_state.len(), "{right_state} {wrong_state}");
    for op in [&mut right_op, &mut wrong_op] {
        op.as_object_mut().unwrap().remove("miss");
        op.as_object_mut().unwrap().remove("throttle");
    }
    assert_eq!(right_op, wrong_op, "the attempts differ in more than values");
}
