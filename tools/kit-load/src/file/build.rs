//! From a parsed scenario file to running servers and a [`Comparison`].

use super::*;

/// The servers a scenario file started and the comparison to run against
/// them. Dropping it stops the servers.
#[derive(Debug)]
pub struct Prepared {
    /// The servers, by name.
    pub servers: Vec<(String, ServerProcess)>,
    /// The comparison, with each server's port and PID filled in.
    pub comparison: Comparison,
}

/// Where a named server listens, and its PID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Started {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its process id.
    pub pid: u32,
}

impl ScenarioFile {
    /// Checks the whole file (as [`comparison`](ScenarioFile::comparison)
    /// would with placeholder servers), then starts every server and builds
    /// the comparison against them.
    pub fn start(&self) -> Result<Prepared, Error> {
        let placeholders = self
            .servers
            .keys()
            .map(|name| (name.clone(), Started { port: 1, pid: 1 }))
            .collect();
        self.comparison(&placeholders)?;
        let mut servers = Vec::new();
        let mut started = BTreeMap::new();
        for (name, spec) in &self.servers {
            let server = spec.spawn()?;
            started.insert(
                name.clone(),
                Started {
                    port: server.addr().port(),
                    pid: server.pid(),
                },
            );
            servers.push((name.clone(), server));
        }
        let comparison = self.comparison(&started)?;
        Ok(Prepared {
            servers,
            comparison,
        })
    }

    /// The comparison this file describes, against servers already
    /// started.
    pub fn comparison(&self, started: &BTreeMap<String, Started>) -> Result<Comparison, Error> {
        let base = self.settings.apply(&Settings::default())?;
        let mut comparison = Comparison::new(self.baseline.clone())
            .with_rounds(self.rounds)
            .with_interleave(self.interleave);
        for spec in &self.scenarios {
            comparison = comparison.with_scenario(spec.scenario(&base, started)?);
        }
        comparison.validate()?;
        Ok(comparison)
    }
}

impl ServerSpec {
    fn spawn(&self) -> Result<ServerProcess, Error> {
        let port = match self.port {
            Some(port) => port,
            None => free_port()?,
        };
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| Error::invalid("server", "an empty command"))?;
        let port_text = port.to_string();
        let mut command = Command::new(program.replace("{port}", &port_text));
        command.args(args.iter().map(|a| a.replace("{port}", &port_text)));
        if self.quiet {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let timeout = match &self.ready_timeout {
            Some(text) => parse_duration(text)?,
            None => READY_TIMEOUT,
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        ServerProcess::spawn_with_timeout(command, addr, timeout)
    }
}

impl ScenarioSpec {
    fn scenario(
        &self,
        base: &Settings,
        started: &BTreeMap<String, Started>,
    ) -> Result<Scenario, Error> {
        let bad =
            |message: String| Error::invalid("scenario", format!("{:?}: {message}", self.name));
        let server = match &self.server {
            Some(name) => Some(
                *started
                    .get(name)
                    .ok_or_else(|| bad(format!("no server named {name:?} in `servers`")))?,
            ),
            None => None,
        };
        let url = |url: &str| match server {
            Some(s) => Ok(url.replace("{port}", &s.port.to_string())),
            None if url.contains("{port}") => Err(bad("`{port}` in a URL needs a `server`".into())),
            None => Ok(url.to_owned()),
        };
        let load = match (&self.http, &self.grpc, self.engine) {
            (Some(http), None, engine) => {
                let load = http.load(&url(&http.url)?)?;
                match engine {
                    EngineSpec::KitLoad => Load::Http(load),
                    EngineSpec::Wrk => Load::Wrk(load),
                }
            }
            (None, Some(grpc), EngineSpec::KitLoad) => Load::Grpc(grpc.load(&url(&grpc.url)?)?),
            (None, Some(_), EngineSpec::Wrk) => return Err(bad("wrk cannot load gRPC".into())),
            _ => return Err(bad("give exactly one of `http` and `grpc`".into())),
        };
        let mut scenario = Scenario::new(self.name.clone(), load)
            .with_settings(self.settings.apply(base)?)
            .with_items_per_request(self.items.unwrap_or(1));
        if let Some(pid) = self.pid.or(server.map(|s| s.pid)) {
            scenario = scenario.with_server_pid(pid);
        }
        if let Some(baseline) = &self.baseline {
            scenario = scenario.with_baseline(baseline.clone());
        }
        Ok(scenario)
    }
}

impl HttpSpec {
    fn load(&self, url: &str) -> Result<HttpLoad, Error> {
        let mut load = HttpLoad::new(url)?.with_http2(self.http2);
        if let Some(method) = &self.method {
            let method = http::Method::from_bytes(method.as_bytes())
                .map_err(|_| Error::invalid("method", format!("{method:?}")))?;
            load = load.with_method(method);
        }
        for line in &self.headers {
            let (name, value) = line.split_once(':').ok_or_else(|| {
                Error::invalid("header", format!("{line:?}: expected `Name: value`"))
            })?;
            load = load.with_header(name, value)?;
        }
        if let Some(bodies) = body_spec!(self).bodies()? {
            load = load.with_bodies(bodies);
        }
        Ok(load)
    }
}

impl GrpcSpec {
    fn load(&self, url: &str) -> Result<GrpcLoad, Error> {
        let mut load = GrpcLoad::new(url, &self.path)?;
        for line in &self.headers {
            let (name, value) = line.split_once(':').ok_or_else(|| {
                Error::invalid("header", format!("{line:?}: expected `name: value`"))
            })?;
            load = load.with_header(name, value)?;
        }
        if let Some(bodies) = body_spec!(self).bodies()? {
            load = load.with_bodies(bodies);
        }
        Ok(load)
    }
}

#[cfg(test)]
mod tests;
