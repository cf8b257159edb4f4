using Isaac.Core.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Extensions.Logging;

namespace Isaac.Cli;

/// <summary>Isaac logs to <c>&lt;ISAAC_HOME&gt;/logs/isaac-YYYYMMDD.log</c>, never to the prompt.</summary>
internal static class FileLogging
{
    public static ILoggerFactory Create(IsaacSettings settings)
    {
        var logger = new LoggerConfiguration()
            .MinimumLevel.Information()
            .Enrich.WithProperty("Pid", Environment.ProcessId)
            .WriteTo.File(
                Path.Combine(settings.LogsPath, "isaac-.log"),
                rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: 14,
                shared: true, // several isaac processes may share one ISAAC_HOME
                outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} [{Level:u3}] {Pid} {SourceContext}: {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
        return new SerilogLoggerFactory(logger, dispose: true);
    }
}
