# bash completion for passthructl(1)
_passthructl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local verbs="list show check hide unhide maintenance assign unassign release reset monitor run"
    local opts="--help --json --live --force --device --vm --memory --open-node --pass-fd"
    local i verb=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in -*) ;; *) verb=${COMP_WORDS[i]}; break ;; esac
    done
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
    elif [[ $verb == maintenance ]]; then
        COMPREPLY=($(compgen -W "enter exit status" -- "$cur"))
    elif [[ $verb =~ ^(show|hide|unhide|assign|unassign|release|reset)$ || $prev == --device || $prev == -d ]]; then
        COMPREPLY=($(compgen -W "$(ls /sys/bus/pci/devices 2>/dev/null)" -- "$cur"))
    fi
}
complete -F _passthructl passthructl
