using System.Text.Json;
using System.Text.Json.Nodes;
using CliWrap;
using Isaac.Core.Execution;
using Isaac.Core.Internal;
using Isaac.Plugins;
using NJsonSchema;

namespace Isaac.Core.Manifests;

/// <summary>One rule of <c>isaac check-handler</c>: its name, whether the handler passed, and what to do if not.</summary>
public sealed record HandlerCheck
{
    public required string Rule { get; init; }
    public required bool Passed { get; init; }

    /// <summary>What was seen (on a failure) or checked (on a pass), one line.</summary>
    public required string Detail { get; init; }

    /// <summary>How to fix a failure; empty on a pass.</summary>
    public string Hint { get; init; } = "";
}

/// <summary>
/// The conformance kit for script handlers (<c>isaac check-handler</c>): runs the handler of one manifest through a
/// fixed suite of requests and checks its answers against docs/protocol.md. It runs the handler itself rather than
/// through <see cref="OutOfProcessRunner"/>, because it must send requests the product never sends (unknown fields,
/// a broken document) and judge the raw stdout the product's runner turns into a result or an error.
/// </summary>
public static class HandlerConformance
{
    public const string ValidRequest = "valid-request";
    public const string ResponseSchema = "response-schema";
    public const string ProtocolVersion = "protocol-version";
    public const string Timeout = "timeout";
    public const string StdoutCap = "stdout-cap";
    public const string UnknownFields = "unknown-fields";
    public const string ErrorsInEnvelope = "errors-in-envelope";

    private sealed record Run(bool TimedOut, bool Overflowed, int ExitCode, string Stdout, JsonObject? Response, string? SchemaProblem);

    /// <summary>Checks the handler of the manifest at <paramref name="path"/> (a command.yaml or its folder); throws <see cref="ManifestException"/> when the manifest does not load.</summary>
    public static async Task<IReadOnlyList<HandlerCheck>> CheckAsync(string path, CancellationToken cancellationToken = default)
    {
        var manifestPath = Directory.Exists(path) ? Path.Combine(path, ManifestLoader.FileName) : path;
        var loaded = await new ManifestLoader().LoadAsync(manifestPath, cancellationToken).ConfigureAwait(false);
        if (loaded.Command is not { } command)
        {
            throw ManifestException.DoesNotLoad(manifestPath, loaded.Problems.Select(p => p.ToString()));
        }

        if (command.Kind == HandlerKind.Plugin)
        {
            throw ManifestException.NotAScript(command.Name, manifestPath);
        }

        var schema = await ResponseSchemaAsync().ConfigureAwait(false);
        var request = JsonNode.Parse(JsonSerializer.Serialize(Request(command), IsaacJson.Default.CommandRequest))!.AsObject();
        var valid = await RunAsync(command, request.ToJsonString(), schema, cancellationToken).ConfigureAwait(false);

        var extended = request.DeepClone().AsObject();
        extended["x_future_field"] = new JsonObject { ["nested"] = new JsonArray(1, 2, 3) };
        extended["session"]!.AsObject()["x_future_session_field"] = "ignore me";
        var unknown = await RunAsync(command, extended.ToJsonString(), schema, cancellationToken).ConfigureAwait(false);
        var broken = await RunAsync(command, "{\"protocol_version\": 1, \"command\": ", schema, cancellationToken).ConfigureAwait(false);

        var limit = command.Manifest.Security.Resources.MaxStdoutKib;
        return
        [
            Check(ValidRequest, valid.Response is not null && !valid.TimedOut && !valid.Overflowed,
                valid.Response is not null ? $"answered a valid request with status '{valid.Response["status"]}'" : $"did not answer a valid request with a JSON object ({Seen(valid)})",
                "read one JSON request from stdin and print one JSON object on stdout, even when there is nothing to say (docs/protocol.md)"),
            Check(ResponseSchema, valid.Response is not null && valid.SchemaProblem is null,
                valid.SchemaProblem ?? (valid.Response is null ? "no response to check" : "the response matches schemas/response.schema.json"),
                "print {\"status\": \"success\" or \"error\", \"stdout\": \"...\"}; every other key is optional (schemas/response.schema.json)"),
            Check(ProtocolVersion, valid.Response is not null && (valid.Response["protocol_version"] is null || (int?)valid.Response["protocol_version"] == Protocol.Version),
                valid.Response?["protocol_version"] is { } version ? $"the response says protocol_version {version}, the request {Protocol.Version}" : $"the response speaks the request's protocol version {Protocol.Version}",
                $"answer in the request's protocol_version ({Protocol.Version}), or leave protocol_version out"),
            Check(Timeout, !valid.TimedOut && !unknown.TimedOut && !broken.TimedOut,
                valid.TimedOut || unknown.TimedOut || broken.TimedOut ? $"still running after timeout_ms ({command.Manifest.Runtime.TimeoutMs} ms); it was killed" : $"exited within timeout_ms ({command.Manifest.Runtime.TimeoutMs} ms)",
                "make it faster, or raise runtime.timeout_ms in the manifest"),
            Check(StdoutCap, !valid.Overflowed && !unknown.Overflowed && !broken.Overflowed,
                valid.Overflowed || unknown.Overflowed || broken.Overflowed ? $"wrote more than max_stdout_kib ({limit} KiB) on stdout" : $"stayed within max_stdout_kib ({limit} KiB)",
                "print less (logs go to stderr), or raise security.resources.max_stdout_kib in the manifest"),
            Check(UnknownFields, unknown.Response is not null && unknown.SchemaProblem is null && (string?)unknown.Response["status"] == (string?)valid.Response?["status"],
                unknown.Response is null ? $"did not answer a request with unknown fields ({Seen(unknown)})" : $"answered a request with unknown fields with status '{unknown.Response["status"]}'",
                "ignore request keys you do not know: newer Isaacs add fields within a protocol version"),
            Check(ErrorsInEnvelope, broken.Response is not null && broken.SchemaProblem is null && (string?)broken.Response["status"] == "error",
                broken.Response is not null ? $"answered a broken request with status '{broken.Response["status"]}'" : $"crashed on a broken request instead of answering ({Seen(broken)})",
                "catch failures (a request you cannot read included) and print {\"status\": \"error\", \"stderr\": \"what went wrong\"}"),
        ];
    }

    private static HandlerCheck Check(string rule, bool passed, string detail, string hint) =>
        new() { Rule = rule, Passed = passed, Detail = detail, Hint = passed ? "" : hint };

    private static string Seen(Run run) =>
        run.TimedOut ? "it timed out"
        : run.Overflowed ? "its output passed the cap"
        : $"exit code {run.ExitCode}, stdout '{Shorten(run.Stdout)}'";

    private static string Shorten(string text)
    {
        var line = string.Join(' ', text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length <= 80 ? line : line[..77] + "...";
    }

    private static CommandRequest Request(LoadedCommand command) => new()
    {
        Command = command.Name,
        Text = $"/{command.Name}",
        WorkingDirectory = command.Directory,
        Session = new SessionInfo { Device = "check-handler", IsaacHome = Path.GetTempPath() },
        Deadline = DateTimeOffset.UtcNow + command.Timeout,
    };

    private static async Task<Run> RunAsync(LoadedCommand command, string requestJson, JsonSchema schema, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(command.Timeout);
        var stdout = new CappedBuffer(command.Manifest.Security.Resources.MaxStdoutKib * 1024, onOverflow: timeout.Cancel);
        var interpreter = command.Manifest.Runtime.Interpreter;
        var program = interpreter is null ? command.HandlerPath : ExecutableLookup.Resolve(interpreter) ?? interpreter;
        int exitCode;
        try
        {
            var result = await Cli.Wrap(program)
                .WithArguments(interpreter is null ? [] : [command.HandlerPath])
                .WithWorkingDirectory(command.Directory)
                .WithStandardInputPipe(PipeSource.FromString(requestJson))
                .WithStandardOutputPipe(stdout.Target)
                .WithValidation(CommandResultValidation.None)
                .ExecuteAsync(timeout.Token)
                .ConfigureAwait(false);
            exitCode = result.ExitCode;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Run(!stdout.Overflowed, stdout.Overflowed, -1, stdout.ToString(), null, null);
        }

        var text = stdout.ToString();
        JsonObject? response;
        try
        {
            response = JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            response = null;
        }

        var problem = response is null ? null : schema.Validate(text).Select(e => $"'{e.Path?.TrimStart('#', '/')}': {e.Kind}").FirstOrDefault();
        return new Run(false, false, exitCode, text, response, problem is null ? null : $"the response does not match schemas/response.schema.json: {problem}");
    }

    private static async Task<JsonSchema> ResponseSchemaAsync()
    {
        using var stream = typeof(HandlerConformance).Assembly.GetManifestResourceStream("Isaac.Schemas.response.schema.json")
            ?? throw new InvalidOperationException("The response schema is not embedded in Isaac.Core.");
        return await JsonSchema.FromJsonAsync(stream).ConfigureAwait(false);
    }
}
