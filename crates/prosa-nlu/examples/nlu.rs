//! Try the `prosa nlu` contract before the binary wires it:
//!
//! ```text
//! echo '{"text":"manda o boleto pfv"}' | cargo run --release -p prosa-nlu --example nlu -- classify
//! cargo run --release -p prosa-nlu --example nlu -- eval crates/prosa-nlu/data/test.jsonl
//! ```

use std::io::{self, BufReader};
use std::process::ExitCode;

use prosa_nlu::{Nlu, run_classify, run_eval};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nlu = Nlu::builtin();
    match args.first().map(String::as_str) {
        Some("classify") => {
            match run_classify(&nlu, io::stdin().lock(), io::stdout().lock(), io::stderr()) {
                Ok(s) if s.errors == 0 => ExitCode::SUCCESS,
                Ok(s) => {
                    eprintln!("{} of {} lines were malformed", s.errors, s.lines);
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("eval") if args.len() == 2 => {
            let file = match std::fs::File::open(&args[1]) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {}: {e}", args[1]);
                    return ExitCode::FAILURE;
                }
            };
            match run_eval(&nlu, BufReader::new(file)) {
                Ok(report) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}: {e:#}", args[1]);
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: nlu classify < in.jsonl > out.jsonl\n       nlu eval FILE.jsonl");
            ExitCode::from(2)
        }
    }
}
