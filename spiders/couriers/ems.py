from spiders.couriers.base import CourierPageSpider


class EmsSpider(CourierPageSpider):
    name = "ems"
    courier = "ems"
