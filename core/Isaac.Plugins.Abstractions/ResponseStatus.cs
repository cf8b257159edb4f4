namespace Isaac.Plugins;

/// <summary>The values of <see cref="CommandResponse.Status"/>.</summary>
public static class ResponseStatus
{
    /// <summary>The command did what was asked.</summary>
    public const string Success = "success";

    /// <summary>The command failed; <see cref="CommandResponse.Stderr"/> says why.</summary>
    public const string Error = "error";
}
