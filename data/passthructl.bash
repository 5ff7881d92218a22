# bash completion for passthructl(1)

# The devices passthrud tracks, as `passthructl list` prints them.
_passthructl_devices() {
    passthructl list 2>/dev/null |
        awk '$1 ~ /^[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]\.[0-7]$/ { print $1 }'
}

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
    elif [[ $prev == --device || $prev == -d ]]; then
        COMPREPLY=($(compgen -W "$(_passthructl_devices)" -- "$cur"))
    elif [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
    elif [[ $verb == maintenance ]]; then
        [[ $prev == maintenance ]] && COMPREPLY=($(compgen -W "enter exit status" -- "$cur"))
    elif [[ $verb =~ ^(show|hide|unhide|assign|unassign|release|reset)$ && $prev == "$verb" ]]; then
        COMPREPLY=($(compgen -W "$(_passthructl_devices)" -- "$cur"))
    fi
}
complete -F _passthructl passthructl
