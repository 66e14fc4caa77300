from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from trafficdesk.core.validators import mask_mobile, validate_mobile


class Role(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    CLERK = "clerk", _("Window clerk")
    HALL_MANAGER = "hall_manager", _("Hall manager")
    REGIONAL_ADMIN = "regional_admin", _("Regional administrator")
    CHECKPOINT_OFFICER = "checkpoint_officer", _("Checkpoint officer")
    AUDITOR = "auditor", _("Auditor")


STAFF_ROLES = frozenset(
    {Role.CLERK, Role.HALL_MANAGER, Role.REGIONAL_ADMIN, Role.CHECKPOINT_OFFICER, Role.AUDITOR}
)


class User(AbstractUser):
    """Staff log in with username and password; citizens with their mobile number and a code."""

    #: A staff account is managed in its region of authority (accounts.access).
    region_lookup: ClassVar[str] = "region"

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CITIZEN)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region of authority"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Staff act only within this region and the regions inside it."),
    )
    service_point = models.ForeignKey(
        "sites.ServicePoint",
        verbose_name=_("service point"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    mobile = models.CharField(
        _("mobile number"),
        max_length=11,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_mobile],
    )
    windows = models.ManyToManyField(
        "sites.Window",
        verbose_name=_("windows"),
        blank=True,
        related_name="clerks",
        help_text=_(
            "The windows this clerk may serve at; none means any window of the service point."
        ),
    )
    last_window = models.ForeignKey(
        "sites.Window",
        verbose_name=_("last window served at"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    must_change_password = models.BooleanField(
        _("must change the password at the next login"), default=False
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def is_citizen(self) -> bool:
        return self.role == Role.CITIZEN

    @property
    def masked_mobile(self) -> str:
        return mask_mobile(self.mobile) if self.mobile else ""

    def display_name(self) -> str:
        if self.is_citizen:
            return self.masked_mobile or self.username
        return self.get_full_name() or self.username


class OtpChallenge(models.Model):
    """A one-time code sent by SMS. Only keyed hashes are stored, never the code or the number."""

    phone_digest = models.CharField(max_length=64, db_index=True)
    code_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        default_permissions = ()

    def __str__(self) -> str:
        return f"one-time code {self.pk} (expires {self.expires_at:%H:%M:%S})"


class Identity(models.Model):
    """The resident ID number an account is bound to (real-name booking, accounts.realname):
    one ID, one account. Only its keyed digest and masked form are kept, never the number."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="identity", verbose_name=_("account")
    )
    id_digest = models.CharField(max_length=64, unique=True)
    id_masked = models.CharField(_("ID number"), max_length=18)
    name_masked = models.CharField(_("name"), max_length=40, blank=True)
    verified_at = models.DateTimeField(_("verified at"))

    class Meta:
        verbose_name = _("real-name identity")
        verbose_name_plural = _("real-name identities")
        default_permissions = ()

    def __str__(self) -> str:
        return self.id_masked


class FamilyMember(models.Model):
    """Someone an account may book for: declared by the account holder, verified by the
    identity verifier. Digest and masked forms only."""

    account = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="family", verbose_name=_("account")
    )
    id_digest = models.CharField(max_length=64)
    id_masked = models.CharField(_("ID number"), max_length=18)
    name_masked = models.CharField(_("name"), max_length=40, blank=True)
    relation = models.CharField(_("relation"), max_length=20)
    verified_at = models.DateTimeField(_("verified at"))

    class Meta:
        verbose_name = _("family member")
        verbose_name_plural = _("family members")
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["account", "id_digest"], name="family_member_once_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.relation} {self.id_masked}"
