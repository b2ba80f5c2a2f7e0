#compdef aigate

_aigate_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _AIGATE_COMPLETE=complete_zsh aigate)
}

compdef _aigate_completion aigate
