//! The `imgorigin` binary: parse the command line, set up logging, run a transport.

use anyhow::Context;
use clap::Parser;
use imgorigin::cli::{Cli, Command, LambdaArgs, SamplesArgs, ServeArgs, SignArgs};
use imgorigin::{server, Origin};
use std::io::Write;

fn main() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // In Lambda the bootstrap runs without arguments: settings come from the environment.
    let cli = match std::env::args_os().len() == 1
        && std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
    {
        true => Cli::parse_from(["imgorigin", "lambda"]),
        false => Cli::parse(),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    std::panic::set_hook(Box::new(log_panic));
    imgorigin::allocator::tune();
    if !matches!(
        cli.command,
        Some(Command::Sign(_) | Command::Samples(_)) | None
    ) {
        imgorigin::allocator::spawn_trimmer(imgorigin::allocator::TRIM_INTERVAL)
            .context("cannot start the memory trimmer")?;
    }
    match cli.command {
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Lambda(args)) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(lambda(args, started)),
        Some(Command::Sign(args)) => sign(&args),
        Some(Command::Samples(args)) => samples(&args),
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            std::process::exit(2);
        }
    }
}

/// A panic is one error line: where and what, never a backtrace. Some decoders panic on
/// hostile input (the transform catches it and answers 422), and symbolizing a backtrace from
/// the debug info took the server from ~20 to ~210 MiB of RSS per panic (tests/transforms.rs),
/// whatever RUST_BACKTRACE says; the location names the fault.
fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let message = imgorigin::transform::decode::panic_text(info.payload());
    let location = info.location().map(ToString::to_string).unwrap_or_default();
    let thread = std::thread::current();
    tracing::error!(thread = thread.name().unwrap_or("unnamed"), %location, %message, "panicked");
}

fn sign(args: &SignArgs) -> anyhow::Result<()> {
    let keys = args.keys.keys()?.context(
        "no signing keys: give --signing-keys, --signing-keys-file or IMGORIGIN_SIGNING_KEYS",
    )?;
    let exp = args.expiry(std::time::SystemTime::now())?;
    let kid = args.key_id.as_deref();
    let link = match args.iiif {
        true => {
            let prefix = imgorigin::iiif::DEFAULT_PREFIX;
            imgorigin::access::link::iiif_link(&keys, kid, &args.target, exp, prefix)?
        }
        false => imgorigin::access::link::sign_link(&keys, kid, &args.target, exp)?,
    };
    println!("{link}");
    Ok(())
}

fn samples(args: &SamplesArgs) -> anyhow::Result<()> {
    let bytes = imgorigin::samples::large_jpeg().context("cannot encode the sample")?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let path = args.dir.join(imgorigin::samples::LARGE_NAME);
    std::fs::write(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    let (w, h) = imgorigin::samples::LARGE;
    println!(
        "wrote {} ({w} x {h}, {} bytes)",
        path.display(),
        bytes.len()
    );
    Ok(())
}

async fn lambda(args: LambdaArgs, started: std::time::Instant) -> anyhow::Result<()> {
    let mut config = args.pipeline.config(&args.store.prefix)?;
    config.max_ranges = args.invoke_mode.max_ranges(config.max_ranges);
    let mode = match args.invoke_mode {
        imgorigin::lambda::InvokeMode::Stream => "stream",
        imgorigin::lambda::InvokeMode::Buffered => "buffered",
    };
    config.observer = args.log.lambda_observer(&args.metrics, mode)?;
    let store = args.store.open(&config).await?;
    let api =
        std::env::var("AWS_LAMBDA_RUNTIME_API").context("AWS_LAMBDA_RUNTIME_API is not set")?;
    imgorigin::lambda::run(&api, Origin::new(store, config), args.invoke_mode, started).await?;
    Ok(())
}

/// One current-thread runtime per worker thread, each serving the connections the main
/// thread's dispatcher hands it (the least loaded worker gets the next one) and owning its S3
/// pool: a request's server and client tasks never change threads, which measured cheaper
/// than a work-stealing runtime for this proxy-shaped load.
fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = args.pipeline.config(&args.store.prefix)?;
    config.observer = args
        .log
        .serve_observer()
        .context("cannot start the access-log writer")?;
    let workers = args.worker_count();
    let main = current_thread()?;
    let admin = args.admin_listen.is_some();
    let (mut stores, listener, shutdown) = main.block_on(async {
        // One more store for the readiness probe, on the admin thread.
        let count = workers + usize::from(admin);
        let stores = args.store.open_per_worker(count, &config).await?;
        // Handlers go in before the "listening" line: a script may signal as soon as it reads it.
        let shutdown = shutdown_signal()?;
        let listener = server::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        anyhow::Ok((stores, listener, shutdown))
    })?;
    let addr = listener.local_addr()?;
    let admin = match &args.admin_listen {
        Some(at) => {
            let store = stores.pop().context("no store for the readiness probe")?;
            let store = imgorigin::store::Deadline::new(store, config.store_timeout);
            Some(start_admin(at, std::sync::Arc::new(store))?)
        }
        None => None,
    };
    // Scripts read this line to find the port; flush so they see it at once.
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{addr}")?;
    if let Some(admin) = admin {
        writeln!(out, "admin listening on http://{admin}")?;
    }
    out.flush()?;
    drop(out);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut threads = Vec::with_capacity(workers);
    let (dispatcher, shares) = server::dispatch::workers(workers);
    for (i, (store, share)) in stores.into_iter().zip(shares).enumerate() {
        let origin = Origin::new(store, config.clone());
        let mut stopped = stopped.clone();
        let settings = args.server_settings();
        let runtime = current_thread()?;
        let thread = std::thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let shutdown = async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    };
                    server::run(share, origin, shutdown, settings).await
                })
            })
            .context("cannot start a worker thread")?;
        threads.push(thread);
    }
    // Accept until the signal; dropping the dispatcher stops accepting and ends the shares.
    main.block_on(async {
        tokio::select! {
            () = dispatcher.run(&listener) => {}
            () = shutdown => {}
        }
    });
    imgorigin::observe::health::global().set_draining();
    drop(listener);
    let _ = stop.send(true);
    let mut drained = true;
    for thread in threads {
        match thread.join() {
            Ok(finished) => drained &= finished,
            Err(_) => anyhow::bail!("a worker thread panicked"),
        }
    }
    if !drained {
        tracing::warn!("drain period ended with responses still in flight");
    }
    Ok(())
}

/// Binds the admin listener at `at` and serves it on a thread of its own (so that it answers
/// while the workers drain), with the readiness probe on `store`.
fn start_admin(
    at: &str,
    store: std::sync::Arc<dyn imgorigin::store::Store>,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind(at)
        .with_context(|| format!("cannot listen on --admin-listen {at}"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = current_thread()?;
    std::thread::Builder::new()
        .name("admin".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => return tracing::error!(error = %e, "admin listener failed"),
                };
                tokio::spawn(imgorigin::observe::health::probe(store));
                server::admin::run(listener).await;
            });
        })
        .context("cannot start the admin thread")?;
    Ok(addr)
}

/// Blocking-pool threads per worker runtime.
const BLOCKING_THREADS: usize = 16;

fn current_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        // File reads and transforms run on the blocking pool; tokio's default of 512 threads
        // per runtime let a few hundred slow clients of the local store start hundreds of
        // threads (each with its stack and malloc arena). Transforms are bounded by their
        // slots, file reads queue.
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Resolves on the first SIGTERM or SIGINT.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down");
    })
}
