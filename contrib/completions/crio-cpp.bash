# bash completion for crio and crioctl (crio-cpp). Flags and subcommands are read from the
# program's own --help, so they are always those of the installed version.
_crio_cpp_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local prog=${COMP_WORDS[0]}
  local -a path=()
  local w
  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    [[ $w == -* ]] || path+=("$w")
  done
  local help
  help=$("$prog" "${path[@]}" --help 2>/dev/null) || help=$("$prog" --help 2>/dev/null)
  local flags subcommands
  flags=$(grep -oE -- '--[A-Za-z0-9][A-Za-z0-9-]*' <<<"$help" | sort -u)
  subcommands=$(awk '/^Subcommands:/ {s=1; next} s && /^  [a-z]/ {print $1}' <<<"$help")
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -W "$subcommands" -- "$cur")
    [[ ${#COMPREPLY[@]} -eq 0 ]] && mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -F _crio_cpp_complete crio crioctl
