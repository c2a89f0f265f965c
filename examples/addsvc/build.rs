//! Compiles Go kit's addsvc.proto with protox (no system protoc), with kit's
//! codec so a malformed message is INVALID_ARGUMENT.

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed=proto");
    let fds = protox::compile(["proto/addsvc.proto"], ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("addsvc_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_transport(false)
        .codec_path("kit_transport::grpc::Codec")
        .compile_fds(fds)?;
    Ok(())
}
