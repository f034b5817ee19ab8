//! The real binary as an operator runs it: graceful shutdown finishes the request in
//! flight, and the provider key never appears in anything the process prints.
mod common;
use common::*;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_and_logs_never_show_the_key() {
    let double = Double::start(vec![Scenario::Status(400), Scenario::Slow(Duration::from_millis(1500))]).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pixelkeep-proxy"))
        .env("PIXELKEEP_ADDR", "127.0.0.1:0")
        .env("GEMINI_API_KEY", GEMINI_KEY)
        .env("PIXELKEEP_GEMINI_BASE_URL", double.url())
        .env("RUST_LOG", "debug")
        .env_remove("OPENAI_API_KEY")
        .env_remove("PIXELKEEP_TOKEN_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Everything the process prints, on both streams.
    let printed = Arc::new(Mutex::new(String::new()));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    printed.lock().unwrap().push_str(&first);
    let url = first.split_whitespace().find(|w| w.starts_with("http://")).expect("the serving line").to_string();
    let drain = |mut r: Box<dyn Read + Send>, sink: Arc<Mutex<String>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            sink.lock().unwrap().push_str(&s);
        })
    };
    let t_out = drain(Box::new(stdout), printed.clone());
    let t_err = drain(Box::new(child.stderr.take().unwrap()), printed.clone());

    // An upstream error, logged with its detail.
    let failed = post_json(&format!("{url}/api/edit"), &edit_body("gemini", "make it blue", &png(64, 48)), &[]).await;
    assert_eq!(failed.status, 502, "{}", failed.text);
    failed.assert_no_secret();

    // A slow edit, and SIGTERM while it is in flight.
    let body = edit_body("gemini", "make it blue", &png(64, 48));
    let slow = tokio::spawn({
        let url = url.clone();
        async move { post_json(&format!("{url}/api/edit"), &body, &[]).await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(double.attempts(), 2, "the slow edit reached the provider");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let answer = slow.await.unwrap();
    assert_eq!(answer.status, 200, "the request in flight was finished: {}", answer.text);
    assert!(answer.json["image"]["data"].as_str().is_some_and(|d| !d.is_empty()));
    answer.assert_no_secret();

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the proxy did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    t_out.join().unwrap();
    t_err.join().unwrap();
    let printed = printed.lock().unwrap();
    assert!(printed.contains("shutting down"), "{printed}");
    assert!(printed.len() > 200, "debug logging printed something: {printed}");
    assert!(!printed.contains(GEMINI_KEY), "the key was printed:\n{printed}");
}
