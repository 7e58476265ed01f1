//! Flags of the access log, EMF metrics (Lambda) and the admin listener (`serve`).

use crate::observe::emf::{Emf, EmfError, DEFAULT_DIMENSIONS};
use crate::observe::{LogFormat, Observer, Sink};
use clap::{Args, ValueEnum};

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// The access log: one line per request on stdout, after its response ended.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Access-log format: `json` (the default on Lambda) or `text` (the default on `serve`).
    #[arg(long, env = "IMGORIGIN_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// `off` turns the access log off.
    #[arg(long, env = "IMGORIGIN_ACCESS_LOG", value_enum, default_value = "on")]
    pub access_log: Switch,
}

/// Lambda metrics: CloudWatch Embedded Metric Format documents on stdout.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// `emf`: one EMF document per invocation; `off`: none.
    #[arg(long, env = "IMGORIGIN_METRICS", value_enum, default_value = "emf")]
    pub metrics: MetricsMode,
    /// CloudWatch namespace of the metrics.
    #[arg(long, env = "IMGORIGIN_METRICS_NAMESPACE", default_value = "imgorigin")]
    pub metrics_namespace: String,
    /// Dimension sets: sets separated by `;`, names by `,`, from FunctionName, Mode,
    /// StatusClass, Kind (keys and paths are never dimensions).
    #[arg(long, env = "IMGORIGIN_METRICS_DIMENSIONS", default_value = DEFAULT_DIMENSIONS)]
    pub metrics_dimensions: String,
}

/// Whether to emit metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricsMode {
    /// CloudWatch Embedded Metric Format.
    Emf,
    /// None.
    Off,
}

impl LogArgs {
    /// The access log of `serve`: text unless asked otherwise, written by a thread so that a
    /// slow reader of stdout never holds a request.
    ///
    /// # Errors
    /// When the writer thread cannot start.
    pub fn serve_observer(&self) -> std::io::Result<Observer> {
        let access_log = match self.access_log {
            Switch::Off => None,
            Switch::On => Some((self.log_format.unwrap_or(LogFormat::Text), Sink::queued()?)),
        };
        Ok(Observer {
            access_log,
            emf: None,
        })
    }

    /// The access log and EMF of a Lambda function (`mode`: `stream` or `buffered`), both
    /// written before the invocation ends.
    ///
    /// # Errors
    /// A namespace or dimensions EMF cannot carry.
    pub fn lambda_observer(
        &self,
        metrics: &MetricsArgs,
        mode: &'static str,
    ) -> Result<Observer, EmfError> {
        let access_log = match self.access_log {
            Switch::Off => None,
            Switch::On => Some((self.log_format.unwrap_or(LogFormat::Json), Sink::Stdout)),
        };
        let emf = match metrics.metrics {
            MetricsMode::Off => None,
            MetricsMode::Emf => {
                let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
                    .unwrap_or_else(|_| "imgorigin".to_owned());
                let emf = Emf::new(
                    &metrics.metrics_namespace,
                    &metrics.metrics_dimensions,
                    function,
                    mode,
                )?;
                Some((emf, Sink::Stdout))
            }
        };
        Ok(Observer { access_log, emf })
    }
}
