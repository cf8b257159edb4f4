using System.Text.RegularExpressions;
using Isaac.Core.Hosting;

namespace Isaac.Cli;

internal static partial class Commands
{
    // The template files are the dotnet new templates of tools/templates, shipped next to isaac. The tokens below are
    // what their template.json replaces; isaac new does the same replacements without needing the .NET SDK.
    private const string SchemaToken = "../../../schemas/command.schema.json";
    private const string ContractPackage = "Isaac.Plugins.Abstractions";

    private static readonly Dictionary<string, (string File, string Interpreter)> _scriptLanguages = new(StringComparer.Ordinal)
    {
        ["python"] = ("run.py", "python3"),
        ["bash"] = ("run.sh", "bash"),
        ["node"] = ("run.js", "node"),
    };

    public static int New(string name, string kind, string language, string? output, IsaacSettings settings)
    {
        if (!Regex.IsMatch(name, "^[a-z][a-z0-9-]{0,39}$"))
        {
            return Usage($"'{name}' is not a command name: use lower-case letters, digits and dashes, starting with a letter (at most 40).", "new");
        }

        if (kind is not ("plugin" or "script"))
        {
            return Usage($"unknown kind '{kind}'; use --kind plugin or --kind script.", "new");
        }

        if (!_scriptLanguages.TryGetValue(language, out var script))
        {
            return Usage($"unknown language '{language}'; use --lang python, bash or node.", "new");
        }

        var target = Path.GetFullPath(output ?? Path.Combine(settings.CommandsPath, name));
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            Console.Error.WriteLine($"isaac new: '{target}' already exists and is not empty; choose another name or --output folder.");
            return 1;
        }

        var templates = Path.Combine(AppContext.BaseDirectory, "templates");
        var template = Path.Combine(templates, kind == "plugin" ? "plugin-command" : "script-command");
        if (!Directory.Exists(template))
        {
            Console.Error.WriteLine($"isaac new: the templates are missing from '{templates}'; reinstall isaac.");
            return 1;
        }

        var schema = Path.Combine(AppContext.BaseDirectory, "schemas", "command.schema.json");
        var pascal = string.Concat(name.Split('-').Select(part => char.ToUpperInvariant(part[0]) + part[1..]));
        var replacements = kind == "plugin"
            ? new[] { (SchemaToken, schema), ("Hello", pascal), ("hello", name) }
            : [(SchemaToken, schema), ("run.py", script.File), ("python3", script.Interpreter), ("hello", name)];
        foreach (var file in Directory.EnumerateFiles(template, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(template, file);
            var skipped = relative.Split(Path.DirectorySeparatorChar) is [".template.config", ..] or [.., "bin" or "obj", _]
                || (kind == "script" && relative != "command.yaml" && relative != script.File);
            if (skipped)
            {
                continue;
            }

            var destination = Path.Combine(target, relative.Replace("Hello", pascal, StringComparison.Ordinal));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.WriteAllText(destination, replacements.Aggregate(File.ReadAllText(file), (text, r) => text.Replace(r.Item1, r.Item2, StringComparison.Ordinal)));
            if (relative == script.File && kind == "script" && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(destination, File.GetUnixFileMode(destination) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            }
        }

        Console.Out.WriteLine($"Created /{name} ({kind}{(kind == "script" ? $", {language}" : "")}) in {target}");
        if (kind == "plugin")
        {
            // The contract package ships inside isaac, so a plugin builds without any other package source.
            var packages = Path.Combine(AppContext.BaseDirectory, "packages");
            if (Directory.Exists(packages) && Directory.EnumerateFiles(packages, $"{ContractPackage}.*.nupkg").Any())
            {
                File.WriteAllText(Path.Combine(target, "nuget.config"), $"""
                    <?xml version="1.0" encoding="utf-8"?>
                    <configuration>
                      <packageSources>
                        <add key="isaac" value="{packages}" />
                      </packageSources>
                    </configuration>

                    """);
            }

            Console.Out.WriteLine($"Next: cd {target} && dotnet build, then type /{name} (dotnet test tests/{pascal}.Tests runs its test).");
        }
        else
        {
            Console.Out.WriteLine($"Next: type /{name} at the prompt (isaac validate {target} checks it).");
        }

        return 0;
    }
}
