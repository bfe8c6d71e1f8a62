from spiders.couriers.base import CourierPageSpider


class SfSpider(CourierPageSpider):
    name = "sf"
    courier = "sf"
