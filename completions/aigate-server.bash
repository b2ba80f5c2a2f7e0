_aigate_server_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _AIGATE_SERVER_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _aigate_server_completion aigate-server
