using System.Text.Json;
using Isaac.Core.Internal;
using Isaac.Core.Manifests;
using Isaac.Plugins;

namespace Isaac.Core.Execution;

/// <summary>Reads a script handler's stdout as a response envelope (docs/protocol.md).</summary>
internal static class Envelope
{
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
                throw new JsonException("the output is not a JSON object");
            }

            response = JsonSerializer.Deserialize(stdout, IsaacJson.Default.CommandResponse);
        }
        catch (JsonException ex)
        {
            throw exitCode != 0
                ? HandlerException.Exited(command, exitCode, stderr)
                : HandlerException.BadResponse(command, ex.Message, stdout);
        }

        if (response is null)
        {
            throw HandlerException.BadResponse(command, "the response is null", stdout);
        }

        if (response.Status is null)
        {
            throw HandlerException.BadResponse(command, "\"status\" is missing; use \"success\" or \"error\"", stdout);
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

    private static string StderrOnError(CommandResponse response, string stderr) =>
        response.Status == ResponseStatus.Error ? stderr.Trim() : "";
}
