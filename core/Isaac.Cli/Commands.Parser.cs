using System.CommandLine;
using System.CommandLine.Invocation;
using Isaac.Core.Hosting;

namespace Isaac.Cli;

internal static partial class Commands
{
    /// <summary>The full command line, with every subcommand and --help; the common lines skip it (<see cref="QuickArguments"/>).</summary>
    public static Task<int> ParseAndRunAsync(string[] args)
    {
        var command = new Option<string?>("--command", "-c") { Description = "Run one line (a /command, a !device route or a shell command) and exit with its status." };
        IReadOnlyList<string> metaCommands = [];
        command.CompletionSources.Add(_ => metaCommands);
        var json = new Option<bool>("--json") { Description = "With -c: print the raw result as one JSON document." };
        var home = new Option<string?>("--home") { Description = "Isaac's home folder (overrides ISAAC_HOME; default ~/.isaac).", Recursive = true };
        var device = new Option<string?>("--device") { Description = "This device's name (overrides ISAAC_DEVICE; default the host name).", Recursive = true };
        var hub = new Option<string?>("--hub") { Description = "The hub's address, e.g. http://127.0.0.1:5080, or several separated by commas for hubs sharing one store (overrides ISAAC_HUB).", Recursive = true };
        var noColor = new Option<bool>("--no-color") { Description = "No colour or text styles (as does setting NO_COLOR); also off when the output is not a terminal.", Recursive = true };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Show the log on stderr, from Debug up.", Recursive = true };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only the output asked for, warnings and errors: no banners or hints.", Recursive = true };
        var path = new Argument<string?>("path") { Description = "A manifest file, a command folder, or a folder of command folders. Default: every loaded command.", Arity = ArgumentArity.ZeroOrOne };

        IsaacSettings Settings(ParseResult parse) => IsaacSettings.Resolve(parse.GetValue(home), parse.GetValue(device), parse.GetValue(hub));

        var validateJson = new Option<bool>("--json") { Description = "Print the report as one JSON document." };
        var validate = new Command("validate", "Check command manifests; list every problem and exit 1 if there are any (2 for a wrong command line).") { path, validateJson };
        validate.SetAction((parse, cancellationToken) => ValidateAsync(parse.GetValue(path), parse.GetValue(validateJson), Settings(parse), cancellationToken));

        var newName = new Argument<string>("name") { Description = "The command's name: lower-case letters, digits and dashes." };
        var kind = new Option<string>("--kind") { Description = "plugin (a .NET project) or script.", DefaultValueFactory = _ => "script" };
        kind.AcceptOnlyFromAmong("plugin", "script");
        var lang = new Option<string>("--lang") { Description = "A script's language: python, bash or node.", DefaultValueFactory = _ => "python" };
        lang.AcceptOnlyFromAmong("python", "bash", "node");
        var output = new Option<string?>("--output", "-o") { Description = "The folder to create it in. Default: <ISAAC_HOME>/commands/NAME." };
        var newCommand = new Command("new", "Create a command from a template, ready to run.") { newName, kind, lang, output };
        newCommand.SetAction(parse => New(parse.GetValue(newName)!, parse.GetValue(kind)!, parse.GetValue(lang)!, parse.GetValue(output), Settings(parse)));

        var handlerPath = new Argument<string>("path") { Description = "A command folder or its command.yaml (a script handler)." };
        var checkHandler = new Command("check-handler", "Run a script handler through the protocol's conformance rules; exit 1 if any fails.") { handlerPath };
        checkHandler.SetAction((parse, cancellationToken) => CheckHandlerAsync(parse.GetValue(handlerPath)!, cancellationToken));

        var urls = new Option<string>("--urls") { Description = "Where the hub listens. Loopback only by default.", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var data = new Option<string?>("--data") { Description = "The hub's data folder (default <ISAAC_HOME>/hub).", Recursive = true };
        var store = new Option<string?>("--store") { Description = "A PostgreSQL connection string (Host=…;Database=…) to keep the hub's state in, shared by any number of hubs (default: SQLite in --data; config.yaml: store).", Recursive = true };
        var hubCommand = new Command("hub", "Run the hub that carries commands between devices.") { urls, data, store };
        hubCommand.SetAction(parse => HubAsync(Settings(parse), parse.GetValue(urls)!, parse.GetValue(data), parse.GetValue(store)));
        var deviceName = new Argument<string>("name") { Description = "The device's name, as others will route to it (!name ...)." };
        var replace = new Option<bool>("--replace") { Description = "Issue a new token for a device that exists (the old one stops working)." };
        var addDevice = new Command("add-device", "Register a device with the hub and print its token (shown once).") { deviceName, replace };
        addDevice.SetAction(parse => AddDevice(Settings(parse), parse.GetValue(data), parse.GetValue(store), parse.GetValue(deviceName)!, parse.GetValue(replace)));
        hubCommand.Subcommands.Add(addDevice);
        var from = new Option<string>("--from") { Description = "The SQLite hub's data folder (or its hub.db).", Required = true };
        var to = new Option<string>("--to") { Description = "The PostgreSQL connection string to move it to (an empty hub database).", Required = true };
        var migrate = new Command("migrate", "Move a SQLite hub's whole state into PostgreSQL and check the counts.") { from, to };
        migrate.SetAction(parse => MigrateHub(parse.GetValue(from)!, parse.GetValue(to)!));
        hubCommand.Subcommands.Add(migrate);

        var capacity = new Option<int>("--capacity") { Description = "Routed commands run at once; more are rejected as busy.", DefaultValueFactory = _ => 4 };
        var agent = new Command("agent", "Serve commands that other devices route here, without a prompt (needs ISAAC_HUB and ISAAC_TOKEN).") { capacity };
        agent.SetAction(parse => AgentAsync(Settings(parse), parse.GetValue(capacity)));

        var demo = new Command("demo", "Tell the whole story in a minute: a hub, a second device, an outage, the queue, the sync.");
        demo.SetAction(_ => DemoAsync());

        var shell = new Argument<string>("shell") { Description = "bash, zsh or fish." };
        shell.AcceptOnlyFromAmong(CompletionScripts.Shells);
        var completion = new Command("completion", "Print a completion script for bash, zsh or fish (see docs/cli.md to install it).") { shell };
        completion.SetAction(parse => CompletionScripts.Print(parse.GetValue(shell)!));

        var root = new RootCommand("Isaac: a command shell for people who work across several machines.")
        {
            command, json, home, device, hub, noColor, verbose, quiet, validate, newCommand, checkHandler, hubCommand, agent, demo, completion,
        };
        root.SetAction((parse, cancellationToken) => parse.GetValue(command) is { } line
            ? RunOnceAsync(line, parse.GetValue(json), Settings(parse), cancellationToken)
            : ShellAsync(Settings(parse)));

        // Ctrl-C belongs to the shell (it cancels the running handler), so System.CommandLine must not end the process.
        var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false };
        var parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            return Task.FromResult(Usage(parsed.Errors[0].Message));
        }

        if (parsed.GetValue(verbose) && parsed.GetValue(quiet))
        {
            return Task.FromResult(Usage("-v (--verbose) and -q (--quiet) cannot be used together."));
        }

        GlobalOptions.Apply(parsed.GetValue(noColor), parsed.GetValue(quiet) ? Verbosity.Quiet : parsed.GetValue(verbose) ? Verbosity.Verbose : Verbosity.Normal);
        return InvokeAsync(async () =>
        {
            // The shell scripts complete through System.CommandLine's [suggest:N] directive; the values of -c
            // are this home's meta-command names, read before the (synchronous) completion runs.
            if (args is [var first, .. var rest] && first.StartsWith("[suggest", StringComparison.Ordinal))
            {
                var completed = root.Parse(rest is [var line] ? line : "");
                metaCommands = await CompletionScripts.MetaCommandsAsync(completed.GetValue(home), completed.GetValue(device));
            }

            return await parsed.InvokeAsync(configuration);
        });
    }

    /// <summary>
    /// A command line Isaac cannot read (an unknown option, a path that does not exist): one line, and exit code 2
    /// (docs/cli.md, "Exit codes"), pointing at the help of <paramref name="subcommand"/> when the problem is its own.
    /// </summary>
    internal static int Usage(string problem, string? subcommand = null)
    {
        var help = subcommand is null ? "Run 'isaac --help' for the commands and options." : $"Run 'isaac {subcommand} --help' for its options.";
        Console.Error.WriteLine($"isaac: {OneLine(problem).TrimEnd('.')}. {help}");
        return 2;
    }
}
