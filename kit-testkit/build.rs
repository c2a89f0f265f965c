//! Compiles the test protos with protox (no system protoc) when the `grpc`
//! feature is on.

fn main() {
    #[cfg(feature = "grpc")]
    if let Err(e) = grpc() {
        println!("cargo::error=compiling test protos: {e}");
    }
}

#[cfg(feature = "grpc")]
fn grpc() -> Result<(), Box<dyn std::error::Error>> {
    use prost::Message as _;
    println!("cargo::rerun-if-changed=proto");
    let fds = protox::compile(["proto/echo.proto"], ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("echo_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .codec_path("kit_transport::grpc::Codec")
        .compile_fds(fds)?;
    Ok(())
}
