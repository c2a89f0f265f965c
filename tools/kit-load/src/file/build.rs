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

/// The most ports one server may ask for.
pub const MAX_PORTS: usize = 16;

/// Where a named server listens, and its PID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Started {
    /// Its ports on 127.0.0.1: `{port}` (= `{port1}`), `{port2}`, ….
    pub ports: Vec<u16>,
    /// Its process id.
    pub pid: u32,
}

/// Replaces `{port}` and `{portN}` in `text`; any other `{port…}` left is
/// an error, so a typo never reaches a URL.
pub(crate) fn fill_ports(text: &str, ports: &[u16]) -> Result<String, Error> {
    let mut out = text.to_owned();
    for (i, port) in ports.iter().enumerate().rev() {
        out = out.replace(&format!("{{port{}}}", i + 1), &port.to_string());
    }
    if let Some(first) = ports.first() {
        out = out.replace("{port}", &first.to_string());
    }
    if out.contains("{port") {
        return Err(Error::invalid(
            "port placeholder",
            format!(
                "{text:?}: the server has {} port(s): use {{port}}..{{port{}}}",
                ports.len(),
                ports.len()
            ),
        ));
    }
    Ok(out)
}

impl ScenarioFile {
    /// Checks the whole file short of starting its servers: the
    /// comparison it describes against placeholder servers (port 1, PID
    /// 1), with every body file read and every scenario validated.
    pub fn check(&self) -> Result<Comparison, Error> {
        let placeholders = self
            .servers
            .iter()
            .map(|(name, spec)| {
                let ports = vec![1; spec.port_count()?];
                Ok((name.clone(), Started { ports, pid: 1 }))
            })
            .collect::<Result<_, Error>>()?;
        self.comparison(&placeholders)
    }

    /// [`check`](ScenarioFile::check)s the file, then starts every server
    /// and builds the comparison against them.
    pub fn start(&self) -> Result<Prepared, Error> {
        self.check()?;
        let mut servers = Vec::new();
        let mut started = BTreeMap::new();
        for (name, spec) in &self.servers {
            let (server, ports) = spec.spawn()?;
            let pid = server.pid();
            started.insert(name.clone(), Started { ports, pid });
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
    fn port_count(&self) -> Result<usize, Error> {
        let n = self.ports.unwrap_or(1);
        if n == 0 || n > MAX_PORTS {
            return Err(Error::invalid(
                "ports",
                format!("{n} is not in 1..={MAX_PORTS}"),
            ));
        }
        if self.port.is_some() && n > 1 {
            return Err(Error::invalid(
                "ports",
                "a fixed `port` is for a server with one port",
            ));
        }
        Ok(n)
    }

    fn spawn(&self) -> Result<(ServerProcess, Vec<u16>), Error> {
        let ports = match self.port {
            Some(port) => vec![port],
            None => (0..self.port_count()?)
                .map(|_| free_port())
                .collect::<Result<_, _>>()?,
        };
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| Error::invalid("server", "an empty command"))?;
        let mut command = Command::new(fill_ports(program, &ports)?);
        for arg in args {
            command.arg(fill_ports(arg, &ports)?);
        }
        if self.quiet {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let timeout = match &self.ready_timeout {
            Some(text) => parse_duration(text)?,
            None => READY_TIMEOUT,
        };
        let addr = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut server = ServerProcess::spawn_with_timeout(command, addr(ports[0]), timeout)?;
        for port in &ports[1..] {
            server.wait_for_port(addr(*port), timeout)?;
        }
        Ok((server, ports))
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
                started
                    .get(name)
                    .ok_or_else(|| bad(format!("no server named {name:?} in `servers`")))?,
            ),
            None => None,
        };
        let url = |url: &str| match server {
            Some(s) => fill_ports(url, &s.ports),
            None if url.contains("{port}") => Err(bad("`{port}` in a URL needs a `server`".into())),
            None => Ok(url.to_owned()),
        };
        let load = match (&self.http, &self.grpc, self.engine) {
            (Some(http), None, engine) => {
                let load = http.load(&url(&http.url)?)?;
                match engine {
                    EngineSpec::KitLoad => Load::Http(load),
                    EngineSpec::Wrk if http.sequenced => {
                        return Err(bad("wrk cannot send sequenced bodies; use kit-load".into()));
                    }
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
        for name in &self.aux {
            let aux = started
                .get(name)
                .ok_or_else(|| bad(format!("no server named {name:?} in `servers` (aux)")))?;
            scenario = scenario.with_aux_pid(aux.pid);
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
        match (body_spec!(self).bodies()?, self.sequenced) {
            (Some(bodies), true) => load = load.with_bodies(bodies.sequenced()?),
            (Some(bodies), false) => load = load.with_bodies(bodies),
            (None, true) => return Err(Error::invalid("sequenced", "needs a body with {seq}")),
            (None, false) => {}
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
