/**
 * Shell scripts that complete the `kubectl-netpol` command itself: each asks
 * `kubectl-netpol __complete -- WORDS...` (the `--` keeps oclif from reading a `--help` on the line)
 * and reads cobra's format: candidates, one per line with an optional `<TAB>description`, then
 * `:<directive>`. `kubectl netpol <TAB>` needs none of this: kubectl runs kubectl_complete-netpol.
 */

/** Shells `kubectl netpol completion` writes scripts for. */
export const SHELLS = ['bash', 'zsh'] as const;
/** One of SHELLS. */
export type Shell = (typeof SHELLS)[number];

const BASH = String.raw`# bash completion for kubectl-netpol.
# Load it in the current shell:  source <(kubectl-netpol completion bash)
# or for every shell:           kubectl-netpol completion bash > ~/.local/share/bash-completion/completions/kubectl-netpol
_kubectl_netpol() {
    local line=${'$'}{COMP_LINE:0:COMP_POINT}
    local -a words=()
    read -r -a words <<<"${'$'}line"
    # A line ending in a blank starts a new, empty word.
    if [[ ${'$'}{#words[@]} -eq 0 || ${'$'}line == *[[:space:]] ]]; then words+=(""); fi
    local cur=${'$'}{words[${'$'}{#words[@]}-1]}
    local out
    out=$("${'$'}{words[0]}" __complete -- "${'$'}{words[@]:1}" 2>/dev/null) || out=""
    local -a lines=()
    mapfile -t lines <<<"${'$'}out"
    local directive=0
    if [[ ${'$'}{#lines[@]} -gt 0 && ${'$'}{lines[${'$'}{#lines[@]}-1]} == :* ]]; then
        directive=${'$'}{lines[${'$'}{#lines[@]}-1]:1}
        unset 'lines[${'$'}{#lines[@]}-1]'
    fi
    # --flag=VALUE: the candidates are values, and bash replaces only what follows the '='.
    if [[ ${'$'}cur == -*=* ]]; then cur=${'$'}{cur#*=}; fi
    # bash also splits words at '=' and ':' (COMP_WORDBREAKS): drop what precedes the last one.
    local prefix=""
    if [[ ${'$'}cur == *[=:]* ]]; then prefix=${'$'}{cur%"${'$'}{cur##*[=:]}"}; fi
    COMPREPLY=()
    local comp value
    for comp in "${'$'}{lines[@]}"; do
        [[ -z ${'$'}comp ]] && continue
        value=${'$'}{comp%%$'\t'*}
        [[ ${'$'}value == "${'$'}cur"* ]] || continue
        COMPREPLY+=("${'$'}{value#"${'$'}prefix"}")
    done
    # Directive bits (cobra's): 2 no space after the word, 4 no file names when nothing matches.
    if (( directive & 2 )); then compopt -o nospace; fi
    if (( directive & 4 )); then compopt +o default; fi
    return 0
}
complete -o default -F _kubectl_netpol kubectl-netpol
`;

const ZSH = String.raw`#compdef kubectl-netpol
# zsh completion for kubectl-netpol.
# Load it in the current shell (after compinit):  source <(kubectl-netpol completion zsh)
# or for every shell: kubectl-netpol completion zsh > "${'$'}{fpath[1]}/_kubectl-netpol"
_kubectl-netpol() {
    local -a lines candidates opts
    local out line value description directive=0 cur=${'$'}{words[CURRENT]}
    out=$(${'$'}{words[1]} __complete -- "${'$'}{(@)words[2,CURRENT]}" 2>/dev/null)
    lines=("${'$'}{(@f)out}")
    if [[ ${'$'}{lines[-1]} == :<-> ]]; then
        directive=${'$'}{lines[-1]#:}
        lines[-1]=()
    fi
    for line in "${'$'}{lines[@]}"; do
        [[ -z ${'$'}line ]] && continue
        value=${'$'}{line%%$'\t'*}
        description=''
        [[ ${'$'}line == *$'\t'* ]] && description=${'$'}{line#*$'\t'}
        # _describe splits value:description at the first unescaped colon.
        candidates+=("${'$'}{value//:/\\:}${'$'}{description:+:${'$'}description}")
    done
    # --flag=VALUE: the candidates are values; keep the typed --flag= in front of them.
    [[ ${'$'}cur == -*=* ]] && opts+=(-P "${'$'}{cur%%=*}=")
    (( directive & 2 )) && opts+=(-S '')
    if (( ${'$'}{#candidates} )); then
        _describe -t values 'kubectl-netpol' candidates "${'$'}{opts[@]}"
    elif (( ! (directive & 4) )); then
        _files
    fi
}
if [[ ${'$'}{funcstack[1]} == _kubectl-netpol ]]; then
    _kubectl-netpol "${'$'}@"
else
    compdef _kubectl-netpol kubectl-netpol
fi
`;

/** The completion script for a shell. */
export function completionScript(shell: Shell): string {
  return shell === 'bash' ? BASH : ZSH;
}
