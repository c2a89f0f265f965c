//! Compiles the gRPC API with protox (no system protoc) and kit's codec.

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed=proto");
    let fds = protox::compile(["proto/stream.proto"], ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("stream_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_transport(false)
        .bytes(".")
        .codec_path("kit_transport::grpc::Codec")
        .compile_fds(fds)?;
    Ok(())
}
