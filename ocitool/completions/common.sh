# What bash and zsh (and fish, through bash) share: the table of commands and
# options, and what to offer for the word at the cursor.

_ocitool_spec='@SPEC@'

# _ocitool_get COMMAND FIELD: the value of that row of the table
_ocitool_get() {
  local key="$1"$'\t'"$2"$'\t' line
  while IFS= read -r line; do
    if [[ $line == "$key"* ]]; then
      printf '%s' "${line#"$key"}"
      return
    fi
  done <<<"$_ocitool_spec"
}

# _ocitool_candidates WORD...: the words to offer for the last WORD (the cursor's),
# one per line; "@file" and "@dir" ask the shell to complete a path.
_ocitool_candidates() {
  local -a line=("$@")  # not "words": zsh keeps that name for its own
  local n=${#line[@]} cur=${line[$((n - 1))]}
  local cmd="" expect="" npos=0 dashdash="" stop="" word i
  local -a global=()
  for ((i = 1; i < n - 1; i++)); do
    word=${line[i]}
    if [[ -n $expect ]]; then
      # a root option that takes a value (--backend, --store, --host, --connection...)
      # goes to `__complete`, which chooses the engine as the command would
      [[ -z $cmd && " $(_ocitool_get "" valued) " == *" $expect "* ]] && global+=("$expect" "$word")
      expect=""
      continue
    fi
    if [[ -z $dashdash && -z $stop && $word == -* ]]; then
      if [[ $word == -- ]]; then
        dashdash=1
      elif [[ $word == --*=* ]]; then
        [[ -z $cmd ]] && global+=("$word")
      elif [[ " $(_ocitool_get "$cmd" valued) " == *" $word "* ]]; then
        expect=$word
      fi
      continue
    fi
    if [[ -z $cmd ]]; then
      cmd=$word
      continue
    fi
    npos=$((npos + 1))
    [[ -n $(_ocitool_get "$cmd" stop) ]] && stop=1
  done
  if [[ -n $stop ]]; then
    return  # run IMAGE COMMAND...: the rest is the container's command
  fi
  local values
  if [[ -n $expect ]]; then
    values=$(_ocitool_get "$cmd" "values$expect")
    _ocitool_offer "$cur" "" $values
    return
  fi
  if [[ -z $dashdash && $cur == --*=* ]]; then
    values=$(_ocitool_get "$cmd" "values${cur%%=*}")
    _ocitool_offer "${cur#*=}" "${cur%%=*}=" $values
    return
  fi
  if [[ -z $dashdash && $cur == -* ]]; then
    _ocitool_offer "$cur" "" $(_ocitool_get "$cmd" options)
    return
  fi
  if [[ -z $cmd ]]; then
    _ocitool_offer "$cur" "" $(_ocitool_get "" commands)
    return
  fi
  local -a kinds
  kinds=($(_ocitool_get "$cmd" args))
  local kind=""
  if ((npos < ${#kinds[@]})); then
    kind=${kinds[npos]}
  elif ((${#kinds[@]} > 0)) && [[ ${kinds[-1]} == *... ]]; then
    kind=${kinds[-1]}
  fi
  case ${kind%...} in
    image) _ocitool_offer "$cur" "" $(command ocitool __complete images "${global[@]}" 2>/dev/null) ;;
    container) _ocitool_offer "$cur" "" $(command ocitool __complete containers "${global[@]}" 2>/dev/null) ;;
    file) printf '%s\n' @file ;;
    dir) printf '%s\n' @dir ;;
    one-of:*)
      values=${kind#one-of:}
      _ocitool_offer "$cur" "" ${values//,/ }
      ;;
  esac
}

# _ocitool_offer CUR PREFIX WORD...: PREFIX plus each WORD that starts with CUR;
# "@file" and "@dir" pass through for the shell to complete paths.
_ocitool_offer() {
  local cur=$1 prefix=$2 word
  shift 2
  for word in "$@"; do
    if [[ $word == @file || $word == @dir ]]; then
      printf '%s\n' "$word"
    elif [[ $word == "$cur"* ]]; then
      printf '%s\n' "$prefix$word"
    fi
  done
}
