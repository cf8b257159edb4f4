using System.Text;
using System.Text.RegularExpressions;
using Isaac.Core.Execution;
using NJsonSchema;
using NJsonSchema.Validation;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Isaac.Core.Manifests;

/// <summary>The command, or null when it cannot load; problems may come with a command that loads (they are worth fixing, not fatal).</summary>
internal sealed record ManifestLoadResult(LoadedCommand? Command, IReadOnlyList<ManifestProblem> Problems);

/// <summary>Reads one <c>command.yaml</c>: YAML syntax, then the JSON schema, then the rules a schema cannot say.</summary>
internal sealed class ManifestLoader
{
    public const string FileName = "command.yaml";

    /// <summary>Largest manifest read (64 KiB); real ones are a few hundred bytes. Bigger files are refused unread.</summary>
    public const int MaxBytes = 64 * 1024;

    // Built on the first cache miss only: building a YamlDotNet deserializer is costly reflection.
    private static readonly Lazy<IDeserializer> _deserializer = new(() => new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithEnforceRequiredMembers()
        .WithEnforceNullability()
        .WithDuplicateKeyChecking()
        .Build());

    private readonly ManifestCache? _cache;

    /// <param name="cache">Remembers manifests that passed validation, keyed by file size and time; null to always validate.</param>
    public ManifestLoader(ManifestCache? cache = null) => _cache = cache;

    /// <summary>
    /// Loads one manifest: from the cache when its file is unchanged (no YAML, schema or regex work: those
    /// assemblies are not even loaded), else read and validated in full.
    /// </summary>
    public Task<ManifestLoadResult> LoadAsync(string manifestPath, CancellationToken cancellationToken = default)
    {
        var path = Path.GetFullPath(manifestPath);
        FileStamp stamp;
        try
        {
            stamp = FileStamp.Of(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult(Fail(new ManifestProblem(path, 0, 0, "unreadable", ex.Message)));
        }

        return _cache?.TryGet(path, stamp) is { } cached
            ? Task.FromResult(Resolve(path, cached, (_, rule, message) => new ManifestProblem(path, 1, 1, rule, message), validate: false))
            : ValidateAsync(path, stamp, cancellationToken);
    }

    private async Task<ManifestLoadResult> ValidateAsync(string path, FileStamp stamp, CancellationToken cancellationToken)
    {
        string? text;
        try
        {
            text = stamp.Length <= MaxBytes ? await ReadCappedAsync(path, cancellationToken).ConfigureAwait(false) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail(new ManifestProblem(path, 0, 0, "unreadable", ex.Message));
        }

        if (text is null)
        {
            return Fail(new ManifestProblem(path, 1, 1, "too-large",
                $"the file is {Math.Max(stamp.Length, MaxBytes + 1)} bytes or more; a manifest may be at most {MaxBytes} bytes ({MaxBytes / 1024} KiB)"));
        }

        var result = Parse(path, text, await ManifestSchema.GetAsync().ConfigureAwait(false));
        if (result.Command is { } command)
        {
            _cache?.Put(path, stamp, command.Manifest);
        }

        return result;
    }

    // Reads at most MaxBytes + 1 bytes whatever the file claims: a link to /dev/zero has length 0.
    private static async Task<string?> ReadCappedAsync(string path, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxBytes + 1];
        var total = 0;
        var file = File.OpenRead(path);
        await using (file.ConfigureAwait(false))
        {
            int read;
            while (total < buffer.Length && (read = await file.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
            }
        }

        if (total > MaxBytes)
        {
            return null;
        }

        using var reader = new StreamReader(new MemoryStream(buffer, 0, total), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static ManifestLoadResult Parse(string path, string text, JsonSchema schema)
    {
        var marks = new Dictionary<string, Mark>(StringComparer.Ordinal);
        var parser = new PositionTrackingParser(new Parser(new StringReader(text)));
        try
        {
            // Bounded walk first (size, depth, alias budget); only a document that passed it reaches the deserializer.
            var json = YamlJson.Read(parser, marks);
            var schemaProblems = schema.Validate(json)
                .SelectMany(Flatten)
                .Select(error => Problem(path, marks, error))
                .ToList();
            if (schemaProblems.Count > 0 && OtherManifestShape.Mapping(json) is { } mapping)
            {
                return Fail(new ManifestProblem(path, 1, 1, OtherManifestShape.Rule,
                    $"this manifest is in the other shape of the original design (name, summary, triggers, runtime.entry); rewrite it in this format (isaac validate {path} prints the field-by-field mapping)")
                { Mapping = mapping });
            }

            if (schemaProblems.Count > 0)
            {
                return new ManifestLoadResult(null, schemaProblems);
            }

            var manifest = _deserializer.Value.Deserialize<CommandManifest>(text);
            return Resolve(path, manifest, (jsonPath, rule, message) => At(path, marks, jsonPath, rule, message), validate: true);
        }
        catch (YamlException ex)
        {
            var message = ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message;
            return Fail(new ManifestProblem(path, (int)ex.Start.Line, (int)ex.Start.Column, "yaml", message));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            // YamlDotNet's scanner throws InvalidOperationException on some malformed input; it is the manifest's fault, not ours.
            var at = parser.LastGood;
            return Fail(new ManifestProblem(path, (int)at.Line, (int)at.Column, "yaml", $"malformed YAML after this point ({ex.Message})"));
        }
    }

    // Checks that depend on the file system run on every load, cached or not; the triggers of a cached manifest
    // passed validation when it was cached, so their patterns are compiled only when first matched.
    private static ManifestLoadResult Resolve(string path, CommandManifest manifest, Func<string, string, string, ManifestProblem> at, bool validate)
    {
        var problems = new List<ManifestProblem>();
        var directory = Path.GetDirectoryName(path) ?? ".";
        var handler = manifest.Runtime.Handler;
        var handlerPath = Path.GetFullPath(Path.Combine(directory, handler));
        if (manifest.Runtime.IsTask)
        {
            problems.AddRange(CheckWake(directory, manifest.Runtime, at));
        }
        else if (handler.Length == 0)
        {
            // The schema says so too (if/else on runtime.mode), but the validator Isaac uses ignores conditionals.
            problems.Add(at("runtime", "schema:property-required", "'runtime.handler' is required (unless runtime.mode is task)"));
        }
        else if (HandlerPath.Check(directory, handler) is { } refused)
        {
            problems.Add(at("runtime.handler", refused.Rule, refused.Message));
        }

        var kind = manifest.Runtime.Kind switch
        {
            _ when manifest.Runtime.IsTask => HandlerKind.Task,
            "plugin" => HandlerKind.Plugin,
            "script" => HandlerKind.Script,
            _ => handler.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? HandlerKind.Plugin : HandlerKind.Script,
        };

        // Without triggers a command answers to "/<name> [args]". The schema allows only [a-z0-9-] in a name, none of
        // them special in a pattern.
        TriggerSpec[] specs = manifest.Triggers.Length > 0
            ? manifest.Triggers
            : [new TriggerSpec { Pattern = $"^{manifest.Command.Name}(\\s+(.*))?$", Capture = "args" }];
        var triggers = new List<CompiledTrigger>();
        for (var i = 0; i < specs.Length; i++)
        {
            var trigger = new CompiledTrigger(specs[i]);
            triggers.Add(trigger);
            if (validate && CheckPattern(trigger) is { } problem)
            {
                problems.Add(at($"triggers[{i}].{problem.Key}", problem.Key == "pattern" ? "regex" : "capture", problem.Message));
            }
        }

        if (manifest.Runtime.Interpreter is { } interpreter && ExecutableLookup.RefuseInterpreter(interpreter) is { } reason)
        {
            problems.Add(at("runtime.interpreter", "interpreter", reason));
        }

        if (problems.Count > 0)
        {
            return new ManifestLoadResult(null, problems);
        }

        // Worth saying, but the command still loads: the fix may come before it is run (and it fails clearly then).
        var notes = new List<ManifestProblem>();
        if (kind == HandlerKind.Script && manifest.Runtime.Interpreter is { } program && ExecutableLookup.Resolve(program) is null)
        {
            notes.Add(at("runtime.interpreter", "interpreter-missing",
                $"interpreter '{program}' was not found on PATH or is not executable; install it or change runtime.interpreter"));
        }
        else if (kind == HandlerKind.Script && manifest.Runtime.Interpreter is null && !ExecutableLookup.IsExecutable(handlerPath))
        {
            notes.Add(at("runtime.handler", "handler-not-executable",
                $"handler '{handler}' is not executable; make it executable (chmod +x) or set runtime.interpreter"));
        }

        var command = new LoadedCommand
        {
            Manifest = manifest,
            ManifestPath = path,
            HandlerPath = handlerPath,
            Kind = kind,
            Triggers = triggers,
        };
        return new ManifestLoadResult(command, notes);
    }

    // A task's wake program follows the handler rules: a relative path stays inside the manifest's folder, a bare
    // name (or an absolute path directly in a PATH folder) is an interpreter. A shell line is the manifest's explicit choice (runtime.shell).
    private static IEnumerable<ManifestProblem> CheckWake(string directory, RuntimeSpec runtime, Func<string, string, string, ManifestProblem> at)
    {
        if (runtime.WakeCommand is not [var program, ..] || runtime.Shell)
        {
            yield break;
        }

        if (program.Contains('/', StringComparison.Ordinal) && !Path.IsPathRooted(program))
        {
            if (HandlerPath.Check(directory, program) is { } refused)
            {
                yield return at("runtime.wake_command", refused.Rule, refused.Message);
            }
        }
        else if (ExecutableLookup.RefuseInterpreter(program) is { } reason)
        {
            yield return at("runtime.wake_command", "interpreter", reason);
        }
    }

    // Compiles the pattern (apart from Resolve, so that a cached load never touches the regex engine).
    private static (string Key, string Message)? CheckPattern(CompiledTrigger trigger)
    {
        try
        {
            return trigger.CaptureGroup == 0 && trigger.Spec.Capture is not null
                ? ("capture", $"capture '{trigger.Spec.Capture}' names the last group of the pattern, but '{trigger.Spec.Pattern}' has no group")
                : null;
        }
        catch (ArgumentException ex)
        {
            return ("pattern", $"pattern '{trigger.Spec.Pattern}' is not a valid regular expression: {ex.Message}");
        }
    }

    // "oneOf"/"anyOf" failures carry the interesting errors inside; report the leaves.
    private static IEnumerable<ValidationError> Flatten(ValidationError error) =>
        error is ChildSchemaValidationError child && child.Errors.Count > 0
            ? child.Errors.Values.SelectMany(errors => errors).SelectMany(Flatten)
            : [error];

    private static ManifestProblem Problem(string file, Dictionary<string, Mark> marks, ValidationError error)
    {
        var jsonPath = (error.Path ?? "#").TrimStart('#', '/').Replace('/', '.');
        var where = string.IsNullOrEmpty(jsonPath) ? "the document" : $"'{jsonPath}'";
        var message = error.Kind switch
        {
            ValidationErrorKind.PropertyRequired => $"{where} is required",
            ValidationErrorKind.NoAdditionalPropertiesAllowed => $"{where} is not a known key (check the spelling; see schemas/command.schema.json)",
            ValidationErrorKind.NotInEnumeration => $"{where} must be one of {string.Join(", ", error.Schema?.Enumeration.Select(v => $"'{v}'") ?? [])}",
            ValidationErrorKind.PatternMismatch => $"{where} does not match {error.Schema?.Pattern}",
            _ => $"{where}: {Describe(error.Kind)}",
        };
        var rule = "schema:" + Describe(error.Kind).Replace(' ', '-');
        return At(file, marks, jsonPath, rule, message);
    }

    private static string Describe(ValidationErrorKind kind) =>
        Regex.Replace(kind.ToString(), "(?<=[a-z])([A-Z])", " $1").ToLowerInvariant();

    private static ManifestProblem At(string file, Dictionary<string, Mark> marks, string jsonPath, string rule, string message)
    {
        // Walk up to the nearest path we saw (a missing key points at its parent).
        var probe = jsonPath;
        while (!marks.ContainsKey(probe) && probe.Length > 0)
        {
            var cut = Math.Max(probe.LastIndexOf('.'), probe.LastIndexOf('['));
            probe = cut < 0 ? "" : probe[..cut];
        }

        return marks.TryGetValue(probe, out var mark)
            ? new ManifestProblem(file, (int)mark.Line, (int)mark.Column, rule, message)
            : new ManifestProblem(file, 1, 1, rule, message);
    }

    private static ManifestLoadResult Fail(ManifestProblem problem) => new(null, [problem]);

    /// <summary>Remembers where the last well-formed YAML event ended, to locate errors YamlDotNet reports without a mark.</summary>
    private sealed class PositionTrackingParser(IParser inner) : IParser
    {
        public Mark LastGood { get; private set; } = Mark.Empty;

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            if (inner.Current is { } current)
            {
                LastGood = current.End;
            }

            return inner.MoveNext();
        }
    }
}
