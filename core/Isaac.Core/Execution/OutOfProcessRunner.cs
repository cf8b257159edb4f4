using System.ComponentModel;
using System.Text.Json;
using CliWrap;
using CliWrap.Exceptions;
using Isaac.Core.Internal;
using Isaac.Core.Manifests;
using Isaac.Plugins;

namespace Isaac.Core.Execution;

/// <summary>
/// Runs a script or executable handler: the request as one JSON document on stdin, one JSON response on stdout,
/// stderr as its log. The whole process tree is killed at the deadline or when stdout passes its cap.
/// </summary>
internal sealed class OutOfProcessRunner : IHandlerRunner
{
    public async Task<CommandResponse> RunAsync(LoadedCommand command, CommandRequest request, CancellationToken cancellationToken = default)
    {
        var limits = command.Manifest.Security.Resources;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(command.Timeout);

        var stdout = new CappedBuffer(limits.MaxStdoutKib * 1024, onOverflow: stop.Cancel);
        var stderr = new CappedBuffer(limits.MaxStderrKib * 1024);
        var (program, arguments) = CommandLine(command);
        var environment = HandlerEnvironment.For(command, request);

        var cli = Cli.Wrap(program)
            .WithArguments(arguments)
            .WithWorkingDirectory(request.WorkingDirectory)
            .WithStandardInputPipe(command.Manifest.Runtime.Stdin
                ? PipeSource.FromBytes(JsonSerializer.SerializeToUtf8Bytes(request, IsaacJson.Default.CommandRequest))
                : PipeSource.Null)
            .WithStandardOutputPipe(stdout.Target)
            .WithStandardErrorPipe(stderr.Target)
            .WithValidation(CommandResultValidation.None);

        int exitCode;
        try
        {
            // CliWrap's forceful cancellation kills the entire process tree.
            var result = await cli.ExecuteAsync(
                    startInfo => HandlerEnvironment.Apply(startInfo.Environment, environment),
                    configureProcess: null,
                    forcefulCancellationToken: stop.Token,
                    gracefulCancellationToken: CancellationToken.None)
                .ConfigureAwait(false);
            exitCode = result.ExitCode;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw stdout.Overflowed
                ? HandlerException.Truncated(command, stdout.ToString(), "its handler process was killed")
                : HandlerException.TimedOut(command, "its handler process was killed");
        }
        catch (Exception ex) when (ex is Win32Exception or CommandExecutionException)
        {
            throw HandlerException.CannotStart(command, program, ex);
        }

        if (stdout.Overflowed)
        {
            // The handler finished before the kill landed; it still broke its limit.
            throw HandlerException.Truncated(command, stdout.ToString(), "the rest was discarded");
        }

        return Envelope.Parse(command, stdout.ToString(), stderr.ToString(), exitCode);
    }

    private static (string Program, string[] Arguments) CommandLine(LoadedCommand command) =>
        command.Manifest.Runtime.Interpreter is { } interpreter
            ? (interpreter, [command.HandlerPath])
            : (command.HandlerPath, []);
}
