//! Go-style command lines: `-flag value`, `-flag=value` and `--flag` all
//! work, as with Go's `flag` package, so Go kit's commands carry over.

/// Rewrites Go-style single-dash long flags (`-http-addr`) into clap's
/// `--http-addr`; `-h`, `--…`, `-` and plain values pass through.
pub fn go_style(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .enumerate()
        .map(|(i, arg)| {
            let long = i > 0 && arg.len() > 2 && arg.starts_with('-') && !arg.starts_with("--");
            let number = arg
                .get(1..)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
            if long && !number {
                format!("-{arg}")
            } else {
                arg
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_dash_long_flags_become_double() {
        let args = [
            "addcli",
            "-http-addr=x:1",
            "-method",
            "sum",
            "--grpc-addr",
            "y",
            "-h",
            "-5",
            "7",
            "",
            "-",
            "é",
        ];
        assert_eq!(
            go_style(args.map(String::from)),
            [
                "addcli",
                "--http-addr=x:1",
                "--method",
                "sum",
                "--grpc-addr",
                "y",
                "-h",
                "-5",
                "7",
                "",
                "-",
                "é"
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn any_arguments_are_rewritten_without_panic(args in proptest::collection::vec(".*", 0..8)) {
            let out = go_style(args.clone());
            proptest::prop_assert_eq!(out.len(), args.len());
        }
    }
}
