# fish completion for ocitool, made by `ocitool completion fish`.
# Use: ocitool completion fish > ~/.config/fish/completions/ocitool.fish
# Commands and options come from the table below, read by the same small bash
# program the bash and zsh scripts use; only image and container names run
# ocitool (`ocitool __complete images|containers`).

set -g __ocitool_common '@COMMON@'

function __ocitool_complete
    set -l cur (commandline -ct)
    for candidate in (bash -c "$__ocitool_common"'
_ocitool_candidates "$@"' ocitool (commandline -opc) $cur)
        switch $candidate
            case @file
                __fish_complete_path $cur
            case @dir
                __fish_complete_directories $cur
            case '*'
                echo $candidate
        end
    end
end

complete -c ocitool -f -a '(__ocitool_complete)'
