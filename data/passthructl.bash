# bash completion for passthructl(1)

# The devices passthrud tracks, as `passthructl list` prints them (at most
# a few seconds: a TAB must not hang on a daemon that is slow to start).
_passthructl_devices() {
    timeout 3 passthructl list 2>/dev/null |
        awk '$1 ~ /^[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]\.[0-7]$/ { print $1 }'
}

_passthructl() {
    local cur prev words cword
    # bash splits words at ':' (COMP_WORDBREAKS): put addresses back together.
    if declare -F _init_completion >/dev/null; then
        _init_completion -n : || return
    else
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local verbs="list show check hide unhide sriov maintenance assign unassign release reset monitor run"
    local opts="--help --json --live --force --device --vm --memory --open-node --pass-fd"
    local i verb=
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        -d | --device | -m | --memory | --vm) ((i++)) ;;
        -*) ;;
        *) verb=${words[i]}; break ;;
        esac
    done
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ $prev == --device || $prev == -d ]]; then
        COMPREPLY=($(compgen -W "$(_passthructl_devices)" -- "$cur"))
    elif [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
    elif [[ $verb == maintenance ]]; then
        [[ $prev == maintenance ]] && COMPREPLY=($(compgen -W "enter exit status" -- "$cur"))
    elif [[ $verb =~ ^(show|hide|unhide|sriov|assign|unassign|release|reset)$ && $prev == "$verb" ]]; then
        COMPREPLY=($(compgen -W "$(_passthructl_devices)" -- "$cur"))
    fi
    # What bash replaces is only the part after the last ':'.
    if declare -F __ltrim_colon_completions >/dev/null; then
        __ltrim_colon_completions "$cur"
    fi
}
complete -F _passthructl passthructl
