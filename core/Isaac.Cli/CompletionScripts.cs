using Isaac.Core.Hosting;

namespace Isaac.Cli;

/// <summary>
/// <c>isaac completion bash|zsh|fish</c>. Each script asks isaac itself for the candidates through System.CommandLine's
/// <c>[suggest:N]</c> directive (the protocol dotnet-suggest uses), so subcommands, options and the meta-command names
/// offered after <c>-c</c> are always those of the isaac that runs, with no list to keep in step here.
/// </summary>
internal static class CompletionScripts
{
    public static readonly string[] Shells = ["bash", "zsh", "fish"];

    public static int Print(string shell)
    {
        Console.Out.Write(shell switch
        {
            "bash" => Bash,
            "zsh" => Zsh,
            _ => Fish,
        });
        return 0;
    }

    /// <summary>The meta-commands (<c>/help</c>, <c>/sysinfo</c>, …) of this home, for <c>-c</c>; none when the settings cannot be read.</summary>
    public static async Task<IReadOnlyList<string>> MetaCommandsAsync(string? home, string? device)
    {
        try
        {
            await using var host = await IsaacHost.StartAsync(IsaacSettings.Resolve(home, device));
            return [.. host.Commands.Select(c => "/" + c.Name)];
        }
        catch (Exception ex) when (ex is Core.IsaacException or IOException or UnauthorizedAccessException)
        {
            return []; // a completion never prints an error into the line being typed
        }
    }

    private const string Bash = """
        # isaac completion for bash. Load it in ~/.bashrc with:  source <(isaac completion bash)
        _isaac_complete() {
            local IFS=$'\n'
            COMPREPLY=($(isaac "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null))
        }
        complete -o default -F _isaac_complete isaac

        """;

    private const string Zsh = """
        #compdef isaac
        # isaac completion for zsh. Load it in ~/.zshrc (after compinit) with:  source <(isaac completion zsh)
        _isaac() {
            local line="${BUFFER[1,CURSOR]}"
            local -a candidates
            candidates=(${(f)"$(isaac "[suggest:${#line}]" "$line" 2>/dev/null)"})
            (( ${#candidates} )) && compadd -a candidates || _files
        }
        compdef _isaac isaac

        """;

    private const string Fish = """
        # isaac completion for fish. Install it with:  isaac completion fish > ~/.config/fish/completions/isaac.fish
        function __isaac_complete
            set -l line (commandline -cp)
            isaac "[suggest:"(string length -- "$line")"]" "$line" 2>/dev/null
        end
        complete -c isaac -f -a '(__isaac_complete)'
        complete -c isaac -n '__fish_seen_subcommand_from validate' -F

        """;
}
