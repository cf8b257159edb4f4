using Isaac.Cli;

// Handlers never outlive Isaac: killed on SIGTERM/SIGHUP/SIGINT, and those a SIGKILLed Isaac left are reaped now.
Isaac.Core.Execution.HandlerContainment.Install();

// For the start-up tests and benchmark: the assemblies this run loaded, one name a line, written at exit.
if (Environment.GetEnvironmentVariable("ISAAC_ASSEMBLY_LIST") is { Length: > 0 } assemblyList)
{
    AppDomain.CurrentDomain.ProcessExit += (_, _) => File.WriteAllLines(assemblyList, AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name ?? "?"));
}

// `isaac` and `isaac -c LINE` are read without System.CommandLine; subcommands and anything unusual use the full parser.
if (QuickArguments.TryParse(args) is not { } quick)
{
    return await Commands.ParseAndRunAsync(args);
}

GlobalOptions.Apply(quick.NoColor, quick.Verbosity);
return await Commands.InvokeAsync(() => quick.Line is { } line
    ? Commands.RunOnceAsync(line, quick.Json, quick.Settings(), CancellationToken.None)
    : Commands.ShellAsync(quick.Settings()));
