"""A tiny hand-made district for tests: 2 streets, 2 communities, 4 square grid cells."""

from __future__ import annotations

from shapely.geometry import box

from twonets.city import spatial
from twonets.city.orders import sync_reference

X0, Y0, STEP = 121.470, 31.220, 0.01  # ~950 m × 1,110 m cells


def cell_center(i: int, j: int) -> tuple[float, float]:
    return X0 + (i + 0.5) * STEP, Y0 + (j + 0.5) * STEP


def seed_tiny_district(session) -> None:
    sync_reference(session)
    rows = [spatial.area_row("D", "district", "示范区", "Demo District", box(X0, Y0, X0 + 2 * STEP, Y0 + 2 * STEP))]
    for i in range(2):
        street = f"S{i + 1:02d}"
        comm = f"{street}C001"
        rows.append(spatial.area_row(street, "street", f"街道{i + 1}", f"Street {i + 1}",
                                     box(X0 + i * STEP, Y0, X0 + (i + 1) * STEP, Y0 + 2 * STEP), parent="D"))
        rows.append(spatial.area_row(comm, "community", f"居委{i + 1}", f"Community {i + 1}",
                                     box(X0 + i * STEP, Y0, X0 + (i + 1) * STEP, Y0 + 2 * STEP), parent=street,
                                     street=street))
        for j in range(2):
            rows.append(spatial.area_row(f"{comm}G{j + 1:02d}", "grid", f"网格{i + 1}-{j + 1}", f"Grid {i + 1}-{j + 1}",
                                         box(X0 + i * STEP, Y0 + j * STEP, X0 + (i + 1) * STEP, Y0 + (j + 1) * STEP),
                                         parent=comm, street=street, community=comm))
    spatial.replace_areas(session, rows)
    session.commit()
