# bash completion for ocitool, made by `ocitool completion bash`.
# Use: eval "$(ocitool completion bash)" in ~/.bashrc, or
#      ocitool completion bash > ~/.local/share/bash-completion/completions/ocitool
# Commands and options come from the table below; only image and container
# names run ocitool (`ocitool __complete images|containers`).

@COMMON@
_ocitool() {
  local line=${COMP_LINE:0:COMP_POINT} cur
  local -a words
  read -ra words <<<"$line"
  if [[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]]; then
    words+=("")
  fi
  cur=${words[-1]}
  COMPREPLY=()
  local candidate
  while IFS= read -r candidate; do
    case $candidate in
      @file) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- "${cur#--*=}")) ;;
      @dir) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -d -- "${cur#--*=}")) ;;
      ?*) COMPREPLY+=("$candidate") ;;
    esac
  done < <(_ocitool_candidates "${words[@]}")
  # bash splits the word at ':' and '=' (COMP_WORDBREAKS): offer only what follows
  # the last of them, as bash-completion's __ltrim_colon_completions does
  local head=${cur%"${cur##*[:=]}"} i
  if [[ -n $head && $COMP_WORDBREAKS == *"${head: -1}"* ]]; then
    for i in "${!COMPREPLY[@]}"; do
      COMPREPLY[i]=${COMPREPLY[i]#"$head"}
    done
  fi
}

complete -F _ocitool ocitool
