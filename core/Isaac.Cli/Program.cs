using System.CommandLine;
using Isaac.Cli;

var command = new Option<string?>("--command", "-c") { Description = "Run one line (a /command, a !device route or a shell command) and exit with its status." };
var json = new Option<bool>("--json") { Description = "With -c: print the raw result as one JSON document." };
var home = new Option<string?>("--home") { Description = "Isaac's home folder (overrides ISAAC_HOME; default ~/.isaac)." };
var device = new Option<string?>("--device") { Description = "This device's name (overrides ISAAC_DEVICE; default the host name)." };
var path = new Argument<string?>("path") { Description = "A manifest file, a command folder, or a folder of command folders. Default: every loaded command.", Arity = ArgumentArity.ZeroOrOne };

var validate = new Command("validate", "Check command manifests; list every problem and exit 1 if there are any.") { path };
validate.SetAction((parse, cancellationToken) => Commands.ValidateAsync(parse.GetValue(path), Settings(parse), cancellationToken));

var root = new RootCommand("Isaac: a command shell for people who work across several machines.") { command, json, home, device, validate };
root.SetAction((parse, cancellationToken) => parse.GetValue(command) is { } line
    ? Commands.RunOnceAsync(line, parse.GetValue(json), Settings(parse), cancellationToken)
    : Commands.ShellAsync(Settings(parse)));

// Ctrl-C belongs to the shell (it cancels the running handler), so System.CommandLine must not end the process.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

Isaac.Core.Hosting.IsaacSettings Settings(ParseResult parse) =>
    Isaac.Core.Hosting.IsaacSettings.Resolve(parse.GetValue(home), parse.GetValue(device));
