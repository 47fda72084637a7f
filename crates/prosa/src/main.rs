//! The `prosa` command: `serve` (the default), `migrate`, `user create`, `token create`,
//! `config dump`, `backup`, `demo reset`, `nlu classify|eval`.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use prosa_server::config::{Config, Overrides};
use std::io::Read;
use std::path::PathBuf;

/// Prosa — atendimento para provedores de internet: WhatsApp, Telegram, Messenger, Instagram,
/// Teams e chat do site, com bot, painel de atendentes e integração com o ERP.
#[derive(Parser, Debug)]
#[command(name = "prosa", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
struct Global {
    /// A TOML configuration file (layered over the defaults, under PROSA_* variables and flags).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database: sqlite:PATH (default sqlite://data/prosa.db) or postgres://USER@HOST/DB.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Address to listen on, e.g. 127.0.0.1:8080; port 0 picks a free one.
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    /// Folder for the SQLite database and files.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Log filter, e.g. info or prosa_server=debug.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default command).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens for integrations.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a consistent copy of the SQLite database to FILE (PostgreSQL: runs pg_dump).
    Backup {
        /// Where to write the copy; must not exist.
        file: PathBuf,
    },
    /// The built-in demo ERP.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// The bot's language understanding.
    #[command(subcommand)]
    Nlu(NluCommand),
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        /// The user's e-mail (their login).
        #[arg(long)]
        email: String,
        /// agent (atendente), supervisor or admin.
        #[arg(long)]
        role: String,
        /// The name shown in the panel (defaults to the e-mail).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (required; keeps it out of the shell history).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create an API token (printed once; only its hash is stored).
    Create {
        /// What the token is for, e.g. "portal".
        #[arg(long)]
        name: String,
        /// The e-mail of the user the token acts as (their role, teams and authorship:
        /// their messages are a person's). Without it: an integration token with
        /// administrator scope whose messages are automated.
        #[arg(long)]
        user: Option<String>,
    },
    /// List API tokens (id, name, created, last used; never the secret).
    List,
    /// Revoke an API token: requests with it are refused from now on.
    Revoke {
        /// The token's id, as `token list` shows it.
        id: i64,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print the effective configuration, secrets masked.
    Dump,
}

#[derive(Subcommand, Debug)]
enum DemoCommand {
    /// Restore the demo ERP's sample subscribers, invoices and connections.
    Reset,
}

#[derive(Subcommand, Debug)]
enum NluCommand {
    /// Classify JSON lines {"text": ...} from standard input; one JSON line out per line in.
    Classify,
    /// Evaluate on a JSON-lines file {"text","intent","entities"}: accuracy, macro-F1, confusions.
    Eval {
        /// The evaluation file.
        file: PathBuf,
    },
}

fn load_config(g: &Global) -> anyhow::Result<Config> {
    let overrides = Overrides {
        listen: g.listen.clone(),
        database_url: g.database_url.clone(),
        data_dir: g.data_dir.clone(),
        log_format: g.log_format.clone(),
        log_level: g.log_level.clone(),
    };
    match Config::load(g.config.as_deref(), &overrides) {
        Ok(c) => Ok(c),
        Err(problems) => {
            eprintln!(
                "prosa: the configuration has {} problem(s):",
                problems.len()
            );
            for p in &problems {
                eprintln!("  - {p}");
            }
            std::process::exit(2);
        }
    }
}

fn init_logs(config: &Config) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Nlu(cmd)) => return nlu(cmd),
        Some(Command::Config(ConfigCommand::Dump)) => {
            print!("{}", load_config(&cli.global)?.dump());
            return Ok(());
        }
        _ => {}
    }
    let config = load_config(&cli.global)?;
    init_logs(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config))
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            prosa_server::open_store(&config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            role,
            name,
            password_stdin,
        }) => {
            if !password_stdin {
                bail!("pass --password-stdin and write the password on standard input");
            }
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password")?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            let input = prosa_server::api::UserInput {
                email: email.clone(),
                name: name.unwrap_or_else(|| email.clone()),
                role,
                password,
                team_ids: vec![],
            };
            let role =
                prosa_server::api::validate_new_user(&input).map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = prosa_server::open_store(&config).await?;
            let hash = prosa_server::auth::hash_password(&input.password)?;
            let id = store
                .create_user(&prosa_storage::users::NewUser {
                    email: input.email.clone(),
                    name: input.name.clone(),
                    password_hash: hash,
                    role,
                })
                .await
                .map_err(|e| match e {
                    prosa_storage::StorageError::Conflict { .. } => {
                        anyhow::anyhow!("a user with e-mail {} already exists", input.email)
                    }
                    other => other.into(),
                })?;
            println!(
                "user {id} created: {} ({})",
                input.email.trim().to_lowercase(),
                role.as_str()
            );
            Ok(())
        }
        Command::Token(TokenCommand::Create { name, user }) => {
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let store = prosa_server::open_store(&config).await?;
            let acts_as = match user.as_deref().map(str::trim) {
                None => None,
                Some(email) => match store.user_credentials(email).await? {
                    Some((u, _)) if u.active => Some(u.id),
                    _ => bail!("there is no active user {email}"),
                },
            };
            let (token, id) =
                prosa_server::api::create_token_as(&store, name.trim(), None, acts_as).await?;
            eprintln!(
                "token {id} \"{}\" created; it is shown only now:",
                name.trim()
            );
            println!("{token}");
            Ok(())
        }
        Command::Token(TokenCommand::List) => {
            let store = prosa_server::open_store(&config).await?;
            for t in store.list_api_tokens().await? {
                println!(
                    "{}\t{}\t{}…\tcreated {}\tlast used {}{}",
                    t.id,
                    t.name,
                    t.hint,
                    t.created_at,
                    t.last_used_at
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "never".into()),
                    if t.revoked { "\trevoked" } else { "" }
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let store = prosa_server::open_store(&config).await?;
            let token = match store.revoke_api_token(prosa_domain::ApiTokenId(id)).await {
                Err(prosa_storage::StorageError::NotFound) => bail!("there is no token {id}"),
                other => other?,
            };
            if token.revoked {
                eprintln!("token {id} \"{}\" was already revoked", token.name);
            } else {
                store
                    .record_audit(&prosa_storage::AuditEntry {
                        actor_user_id: None,
                        actor: "cli".into(),
                        action: "token.revoke".into(),
                        target: format!("token:{id}"),
                        detail: serde_json::json!({"name": token.name}),
                    })
                    .await?;
                eprintln!("token {id} \"{}\" revoked", token.name);
            }
            Ok(())
        }
        Command::Backup { file } => {
            if file.exists() {
                bail!("{} already exists", file.display());
            }
            let store = prosa_server::open_store(&config).await?;
            match store.backend() {
                prosa_storage::Backend::Sqlite => {
                    store
                        .backup_sqlite(&file)
                        .await
                        .context("writing the backup")?;
                }
                prosa_storage::Backend::Postgres => {
                    let status = std::process::Command::new("pg_dump")
                        .arg("--format=custom")
                        .arg("--file")
                        .arg(&file)
                        .arg(&config.database_url)
                        .status()
                        .context("running pg_dump (install the PostgreSQL client)")?;
                    if !status.success() {
                        bail!("pg_dump failed: {status}");
                    }
                }
            }
            println!("backup written to {}", file.display());
            Ok(())
        }
        Command::Demo(DemoCommand::Reset) => {
            let store = prosa_server::open_store(&config).await?;
            prosa_server::demo::reset(&store).await?;
            println!("demo ERP restored");
            Ok(())
        }
        Command::Config(_) | Command::Nlu(_) => unreachable!("handled before the runtime starts"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let store = prosa_server::open_store(&config).await?;
    if let Some((email, password)) = prosa_server::bootstrap_admin(&config, &store).await? {
        println!("Administrator created: {email}");
        match password {
            Some(p) => println!("Password (shown only now): {p}"),
            None => println!("Password: the one in PROSA_ADMIN_PASSWORD"),
        }
    }
    let running = prosa_server::start(config, store).await?;
    println!("Prosa is listening on http://{}", running.addr);
    println!("  Panel:    http://{}/", running.addr);
    println!("  API docs: http://{}/api/v1/openapi.json", running.addr);
    let shutdown = running.state.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        shutdown.trigger();
    });
    running.handle.await.context("server task")??;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn nlu(cmd: &NluCommand) -> anyhow::Result<()> {
    let nlu = prosa_nlu::Nlu::builtin();
    match cmd {
        NluCommand::Classify => {
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            let stderr = std::io::stderr();
            let summary =
                prosa_nlu::run_classify(&nlu, stdin.lock(), stdout.lock(), stderr.lock())?;
            if summary.errors > 0 {
                std::process::exit(1);
            }
            Ok(())
        }
        NluCommand::Eval { file } => {
            let f =
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let report = prosa_nlu::run_eval(&nlu, std::io::BufReader::new(f))?;
            print!("{report}");
            Ok(())
        }
    }
}
