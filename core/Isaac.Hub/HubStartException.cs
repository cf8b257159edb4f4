using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Isaac.Hub;

/// <summary>The hub could not start listening; the message says which address and why, in one line.</summary>
public sealed partial class HubStartException : Exception
{
    private HubStartException(string message, Exception? inner) : base(message, inner)
    {
    }

    internal static HubStartException CannotListen(string urls, Exception ex)
    {
        var address = BoundAddress().Match(ex.Message) is { Success: true } bound && Uri.TryCreate(bound.Groups[1].Value, UriKind.Absolute, out var uri) ? uri : null;
        var socket = ex as SocketException ?? ex.InnerException?.InnerException as SocketException ?? ex.InnerException as SocketException;
        return new(ex switch
        {
            FormatException => $"'{urls}' is not an address the hub can listen on; use --urls http://127.0.0.1:5080 (several are separated by ';').",
            _ when socket?.SocketErrorCode == SocketError.AddressAlreadyInUse && address is not null =>
                $"port {address.Port} on {address.Host} is already in use; stop what listens there or start the hub with another --urls.",
            _ => $"the hub cannot listen on {address?.ToString() ?? urls}: {(socket?.Message ?? ex.Message).TrimEnd('.')}.",
        }, ex);
    }

    internal static HubStartException DataInUse(string directory) =>
        new($"another isaac hub already serves the data folder {directory}; stop it first, or run several hubs on one PostgreSQL store (--store; see docs/scale-out.md).", null);

    [GeneratedRegex(@"address (\S+?):? ", RegexOptions.IgnoreCase)]
    private static partial Regex BoundAddress();
}
