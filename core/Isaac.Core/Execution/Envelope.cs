using System.Text.Json;
using Isaac.Core.Internal;
using Isaac.Core.Manifests;
using Isaac.Plugins;

namespace Isaac.Core.Execution;

/// <summary>Reads a script handler's stdout as a response envelope (docs/protocol.md).</summary>
internal static class Envelope
{
    /// <summary>Deepest JSON nesting read from a handler (the envelope itself needs four levels).</summary>
    public const int MaxDepth = 32;

    // A repeated key is refused rather than letting the last one win: "status" twice is ambiguous.
    private static readonly IsaacJson _strict = new(new JsonSerializerOptions(IsaacJson.Default.Options)
    {
        MaxDepth = MaxDepth,
        AllowDuplicateProperties = false,
    });

    public static CommandResponse Parse(LoadedCommand command, string stdout, string stderr, int exitCode)
    {
        if (string.IsNullOrWhiteSpace(stdout))
        {
            throw exitCode != 0 ? HandlerException.Exited(command, exitCode, stderr) : HandlerException.NoResponse(command, stderr);
        }

        CommandResponse? response;
        try
        {
            if (stdout.TrimStart()[0] != '{')
            {
                throw exitCode != 0
                    ? HandlerException.Exited(command, exitCode, stderr)
                    : HandlerException.BadResponse(command, "the output is not a JSON object", stdout);
            }

            response = JsonSerializer.Deserialize(stdout, _strict.CommandResponse);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            // Our own words: the serializer's message names .NET types (or, trimmed, resource keys).
            throw exitCode != 0
                ? HandlerException.Exited(command, exitCode, stderr)
                : HandlerException.BadResponse(command, Describe(ex), stdout);
        }

        if (response is null)
        {
            throw HandlerException.BadResponse(command, "the response is null", stdout);
        }

        if (response.Status is null)
        {
            throw HandlerException.BadResponse(command, "\"status\" is missing; use \"success\" or \"error\"", stdout);
        }

        if (NullInside(response) is { } where)
        {
            throw HandlerException.BadResponse(command, $"{where} is null; use a string (\"\" for nothing)", stdout);
        }

        response = WithDefaults(response);

        if (response.ProtocolVersion > Protocol.Version)
        {
            throw HandlerException.NewerProtocol(command, response.ProtocolVersion);
        }

        if (response.Status is not (ResponseStatus.Success or ResponseStatus.Error))
        {
            throw HandlerException.BadResponse(command, $"status must be \"success\" or \"error\", not \"{response.Status}\"", stdout);
        }

        // A response without exit_code takes the process's; an error response never reports 0.
        var code = response.ExitCode ?? exitCode;
        if (response.Status == ResponseStatus.Error && code == 0)
        {
            code = 1;
        }

        return response with { ExitCode = code, Stderr = response.Stderr.Length > 0 ? response.Stderr : StderrOnError(response, stderr) };
    }

    // The JSON reader leaves omitted (or null) fields null; a version-1 handler may omit all but status.
    private static CommandResponse WithDefaults(CommandResponse response) => response with
    {
        ProtocolVersion = response.ProtocolVersion == 0 ? 1 : response.ProtocolVersion,
        Stdout = response.Stdout ?? "",
        Stderr = response.Stderr ?? "",
        Kind = string.IsNullOrEmpty(response.Kind) ? "text" : response.Kind,
        Meta = response.Meta ?? new Dictionary<string, string>(),
    };

    private static string Describe(Exception ex) => ex switch
    {
        JsonException { Path: { } path, LineNumber: { } line, BytePositionInLine: { } column } =>
            $"the JSON is malformed, too deep (over {MaxDepth} levels), repeats a key or has a wrong type at '{path}' (line {line + 1}, byte {column + 1})",
        JsonException { LineNumber: { } line, BytePositionInLine: { } column } =>
            $"the JSON is malformed at line {line + 1}, byte {column + 1}",
        _ => "the output is not valid JSON text",
    };

    // The JSON reader lets null into strings inside collections; nothing downstream expects one there.
    private static string? NullInside(CommandResponse response)
    {
        if (response.Meta?.FirstOrDefault(pair => pair.Value is null) is { Key: { } key })
        {
            return $"meta \"{key}\"";
        }

        return response.Table switch
        {
            null => null,
            { Columns: null } => "table.columns",
            { Rows: null } => "table.rows",
            { Columns: var columns } when columns.Any(c => c is null) => "a table column name",
            { Rows: var rows } when rows.Any(row => row is null || row.Any(cell => cell is null)) => "a table row or cell",
            _ => null,
        };
    }

    private static string StderrOnError(CommandResponse response, string stderr) =>
        response.Status == ResponseStatus.Error ? stderr.Trim() : "";
}
