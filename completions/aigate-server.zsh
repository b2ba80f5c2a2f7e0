#compdef aigate-server

_aigate_server_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _AIGATE_SERVER_COMPLETE=complete_zsh aigate-server)
}

compdef _aigate_server_completion aigate-server
