# The model comes to the node once, before its instances start: they run with HF_HUB_OFFLINE=1 and read this cache.

hf_command() { # huggingface_hub's CLI beside the vLLM command or on PATH: hf (huggingface_hub 1.x, 2.x) or huggingface-cli (older)
  local dir c
  dir=$(dirname "$(command -v "$VLLM_COMMAND" || echo "$VLLM_COMMAND")")
  for c in "$dir/hf" hf "$dir/huggingface-cli" huggingface-cli; do
    if command -v "$c" >/dev/null; then
      command -v "$c"
      return 0
    fi
  done
  die "huggingface_hub's CLI (hf or huggingface-cli) is neither beside $VLLM_COMMAND nor on PATH ($PATH): pip install huggingface_hub where vLLM is"
}

before_start() { # fetch the model into HF_CACHE_DIR with hf download (resumes; a complete copy costs one request), or check a local path
  local hf snapshot begin=$SECONDS
  if [[ $MODEL == /* ]]; then
    [ -e "$MODEL" ] || die "the model path $MODEL does not exist on this host: copy the model there, or set model to a Hugging Face repository id"
    say "model $MODEL is a local path on this host: nothing to fetch"
    return 0
  fi
  hf=$(hf_command)
  say "fetching model $MODEL into $HF_CACHE_DIR ($hf download, once for every instance of this node)"
  # The token reaches hf only through its environment, in this subshell.
  snapshot=$(
    { set +x; } 2>/dev/null
    load_hf_token
    HF_HOME=$HF_CACHE_DIR exec "$hf" download "$MODEL" </dev/null
  ) || die "could not fetch model $MODEL from ${HF_ENDPOINT:-https://huggingface.co} (hf's messages are above): no instance was started"
  say "fetched model $MODEL in $((SECONDS - begin)) s: ${snapshot##*$'\n'}"
}
