#compdef ocitool
# zsh completion for ocitool, made by `ocitool completion zsh`.
# Use: ocitool completion zsh > "${fpath[1]}/_ocitool" (then start a new zsh), or
#      source <(ocitool completion zsh) after compinit in ~/.zshrc.
# Commands and options come from the table below; only image and container
# names run ocitool (`ocitool __complete images|containers`).

@COMMON@
# the shared functions are written for bash's arrays and word splitting
_ocitool_collect() {
  emulate -L ksh
  _ocitool_candidates "$@"
}

_ocitool() {
  local -a found
  local candidate cur=${words[CURRENT]}
  while IFS= read -r candidate; do
    case $candidate in
      @file | @dir)
        [[ $cur == --*=* ]] && compset -P '*='
        if [[ $candidate == @dir ]]; then _files -/; else _files; fi
        ;;
      ?*) found+=("$candidate") ;;
    esac
  done < <(_ocitool_collect "${(@)words[1,CURRENT]}")
  ((${#found})) && compadd -- "${found[@]}"
  return 0
}

if [[ ${funcstack[1]} == _ocitool ]]; then
  _ocitool "$@"
else
  compdef _ocitool ocitool
fi
